import type { ReactNode } from 'react';

export function Panel({
  title,
  actions,
  children,
  className,
  id,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  return (
    <section
      className={`panel${className ? ` ${className}` : ''}`}
      aria-labelledby={id ? `${id}-title` : undefined}
    >
      <header className="panel__head">
        <h2 className="panel__title" id={id ? `${id}-title` : undefined}>
          {title}
        </h2>
        {actions && <div className="panel__actions">{actions}</div>}
      </header>
      <div className="panel__body">{children}</div>
    </section>
  );
}

export function Stat({
  label,
  value,
  tone,
  hint,
}: {
  label: string;
  value: ReactNode;
  tone?: string;
  hint?: string;
}) {
  return (
    <div className={`stat${tone ? ` stat--${tone}` : ''}`} title={hint}>
      <div className="stat__value">{value}</div>
      <div className="stat__label">{label}</div>
    </div>
  );
}
