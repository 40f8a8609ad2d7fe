import { useImpact } from '../api/queries';
import { useAuth } from '../auth/auth';
import { BarChart } from '../components/charts/bar-chart';
import { Empty, ErrorMessage, Loading, NeedsScope } from '../components/feedback';
import { Panel, Stat } from '../components/panel';
import { TimeRangePicker, useRange } from '../components/time-range-picker';
import { formatCount, formatMoney } from '../lib/format';
import { impactRows, type ImpactRow } from '../lib/impact';
import { rangeLabel } from '../lib/time-range';
import { InlineCode } from './task/inline-code';
import { useTitle } from './use-title';

function Breakdown({
  title,
  id,
  rows,
  money,
}: {
  title: string;
  id: string;
  rows: ImpactRow[];
  money: boolean;
}) {
  return (
    <Panel title={title} id={id}>
      {rows.length === 0 ? (
        <Empty>Nothing in this window.</Empty>
      ) : (
        <>
          <BarChart
            label={title}
            data={rows.map((r) => ({
              key: r.key,
              label: r.key,
              value: r.value,
              display: money && r.revenueLoss !== null ? formatMoney(r.revenueLoss) : formatCount(r.value),
            }))}
          />
          <table className="table table--compact">
            <caption className="sr-only">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{id === 'categories' ? 'Category' : id === 'tiers' ? 'Tier' : 'Region'}</th>
                {rows.some((r) => r.count !== null) && (
                  <th scope="col" className="num">
                    Failed workflows
                  </th>
                )}
                {rows.some((r) => r.revenueLoss !== null) && (
                  <th scope="col" className="num">
                    Revenue loss
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <td className={id === 'categories' ? 'mono' : undefined}>{r.key}</td>
                  {rows.some((x) => x.count !== null) && <td className="num">{formatCount(r.count)}</td>}
                  {rows.some((x) => x.revenueLoss !== null) && (
                    <td className="num">{formatMoney(r.revenueLoss)}</td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Panel>
  );
}

export function ImpactPage() {
  useTitle('Business impact');
  const range = useRange();
  const { canReadAnalytics } = useAuth();
  const query = useImpact(range, canReadAnalytics);
  const impact = query.data?.impact_analysis;

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Business impact</h1>
        <span className="muted">{rangeLabel(range)}</span>
        <div className="page__tools">
          <TimeRangePicker />
        </div>
      </div>
      {!canReadAnalytics ? (
        <NeedsScope scope="analytics:read" />
      ) : query.isPending ? (
        <Loading />
      ) : query.error ? (
        <ErrorMessage error={query.error} retry={() => void query.refetch()} />
      ) : impact ? (
        <>
          <div className="stats-row">
            <Stat
              label="estimated revenue loss"
              value={formatMoney(impact.estimated_revenue_loss)}
              tone={impact.estimated_revenue_loss > 0 ? 'bad' : undefined}
            />
            <Stat
              label="failed workflows"
              value={formatCount(impact.total_failed_workflows)}
              tone={impact.total_failed_workflows > 0 ? 'bad' : undefined}
            />
            <Stat label="affected customers" value={formatCount(impact.affected_customers)} />
            <Stat
              label="tasks examined"
              value={formatCount(query.data.sample.tasks_examined)}
              hint={query.data.sample.truncated ? 'sample truncated: the newest tasks only' : undefined}
            />
          </div>
          <Panel title="Recommendations" id="recommendations">
            {query.data.recommendations.length === 0 ? (
              <Empty>No recommendation: nothing failed in this window.</Empty>
            ) : (
              <ol className="recommendations">
                {query.data.recommendations.map((r, i) => (
                  <li key={i}>
                    <InlineCode text={r} />
                  </li>
                ))}
              </ol>
            )}
          </Panel>
          <div className="grid grid--three">
            <Breakdown
              title="Revenue loss by region"
              id="regions"
              rows={impactRows(impact.geographic_impact, 'revenue')}
              money
            />
            <Breakdown
              title="Revenue loss by customer tier"
              id="tiers"
              rows={impactRows(impact.customer_tier_impact, 'revenue')}
              money
            />
            <Breakdown
              title="Failures by category"
              id="categories"
              rows={impactRows(impact.failure_categories, 'count')}
              money={false}
            />
          </div>
          {query.data.sample.tasks_without_business_fields ? (
            <p className="muted small">
              {formatCount(query.data.sample.tasks_without_business_fields)} failed tasks had no business
              fields in their context.
            </p>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
