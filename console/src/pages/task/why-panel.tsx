/**
 * "Why is this step not done yet?": one labelled item per step with a `wait`, the server's sentence
 * first, then its evidence, and for a step waiting on dependencies the chain to what holds it up.
 */
import type { Step } from '../../api/types';
import { StatusIcon } from '../../components/status';
import { describeWait, type WaitView } from '../../lib/wait';

function reasonTone(reason: string): string {
  switch (reason) {
    case 'failed':
    case 'blocked_by_failure':
    case 'no_worker_for_handler':
    case 'lease_expired':
      return 'bad';
    case 'retry_backoff':
    case 'no_free_slot':
      return 'warn';
    case 'running':
    case 'queued':
      return 'info';
    default:
      return 'neutral';
  }
}

function WaitItem({
  view,
  selected,
  onSelect,
}: {
  view: WaitView;
  selected: boolean;
  onSelect: (s: string) => void;
}) {
  return (
    <li
      className={`why why--${reasonTone(view.reason)}${selected ? ' is-selected' : ''}`}
      data-reason={view.reason}
      data-step={view.step}
    >
      <div className="why__head">
        <button
          type="button"
          className="link-button mono"
          onClick={() => onSelect(view.step)}
          title="Select this step"
        >
          {view.step}
        </button>
        <span className="why__reason">{view.heading}</span>
        <code className="why__code">{view.reason}</code>
      </div>
      <p className="why__message">{view.message}</p>
      {view.evidence.length > 0 && (
        <dl className="why__evidence">
          {view.evidence.map((e, i) => (
            <div key={`${e.label}-${i}`}>
              <dt>{e.label}</dt>
              <dd className={e.mono ? 'mono' : undefined} title={e.title}>
                {e.value}
              </dd>
            </div>
          ))}
        </dl>
      )}
      {view.chain.length > 0 && (
        <ol className="why__chain" aria-label={`What ${view.step} is waiting for`}>
          {view.chain.map((link, i) => (
            <li key={`${link.step}-${i}`} className={`why__link depth-${Math.min(link.depth, 6)}`}>
              <StatusIcon status={link.status} />{' '}
              <button type="button" className="link-button mono" onClick={() => onSelect(link.step)}>
                {link.step}
              </button>{' '}
              <span className="muted">({link.status.replace(/_/g, ' ')})</span>{' '}
              <code className="why__code">{link.reason}</code>
              {link.message && <div className="why__link-message">{link.message}</div>}
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}

export function WhyPanel({
  steps,
  now,
  selected,
  onSelect,
}: {
  steps: Step[];
  now: number;
  selected: string | null;
  onSelect: (step: string) => void;
}) {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const views = steps.map((s) => describeWait(s, byName, now)).filter((v): v is WaitView => v !== null);
  if (views.length === 0) {
    const anyWaitField = steps.some((s) => s.wait !== undefined);
    return (
      <p className="empty">
        {anyWaitField || steps.every((s) => s.status === 'completed' || s.status === 'resolved_manually')
          ? 'Every step is done.'
          : 'This server does not report wait reasons.'}
      </p>
    );
  }
  return (
    <ul className="why-list">
      {views.map((v) => (
        <WaitItem key={v.step} view={v} selected={selected === v.step} onSelect={onSelect} />
      ))}
    </ul>
  );
}
