import { setSearch, useLocation } from '../router';
import { parseRange, rangeSearch, TIME_RANGES } from '../lib/time-range';

/** The analytics pages' range, kept in the URL so a view can be shared. */
export function useRange() {
  return parseRange(useLocation().search);
}

export function TimeRangePicker() {
  const { search } = useLocation();
  const current = parseRange(search);
  return (
    <div className="segmented" role="group" aria-label="Time range">
      {TIME_RANGES.map((range) => (
        <button
          key={range}
          type="button"
          className="segmented__item"
          aria-pressed={range === current}
          onClick={() => setSearch(rangeSearch(search, range))}
        >
          {range}
        </button>
      ))}
    </div>
  );
}
