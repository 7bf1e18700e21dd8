// The frame every studio panel shares: a labelled region (screen readers and tests find it by
// its title) with a heading and its content.
import { useId, type ReactNode } from 'react';

export interface PanelProps {
  title: string;
  /** One line under the title saying what the panel is for. */
  subtitle?: string;
  className?: string;
  children: ReactNode;
}

export function Panel({ title, subtitle, className, children }: PanelProps) {
  const headingId = useId();
  return (
    <section className={['panel', className].filter(Boolean).join(' ')} aria-labelledby={headingId}>
      <header className="panel-header">
        <h2 id={headingId}>{title}</h2>
        {subtitle && <p className="panel-subtitle">{subtitle}</p>}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
