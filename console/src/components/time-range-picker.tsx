import { setSearch, useLocation } from '../router';
import { parseRange, rangeSearch, TIME_RANGES, type RangeParam } from '../lib/time-range';

/** The analytics pages' range, kept in the URL so a view can be shared. */
export function useRange(param: RangeParam = 'range') {
  return parseRange(useLocation().search, param);
}

export function TimeRangePicker({ param = 'range' }: { param?: RangeParam }) {
  const { search } = useLocation();
  const current = parseRange(search, param);
  return (
    <div className="segmented" role="group" aria-label="Time range">
      {TIME_RANGES.map((range) => (
        <button
          key={range}
          type="button"
          className="segmented__item"
          aria-pressed={range === current}
          onClick={() => setSearch(rangeSearch(search, range, param))}
        >
          {range}
        </button>
      ))}
    </div>
  );
}
