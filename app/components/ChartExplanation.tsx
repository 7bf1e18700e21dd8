// A chart's "?" — its explanation appears on hover or keyboard focus, and stays on a tap (or a
// click) until tapped again or Escape.
import { useId, useState } from 'react';

export function ChartExplanation({ title, text }: { title: string; text: string }) {
  const id = useId();
  const [hover, setHover] = useState(false);
  const [pinned, setPinned] = useState(false);
  const open = hover || pinned;
  return (
    <span className="chart-explain" onMouseEnter={() => setHover(true)} onMouseLeave={() => setHover(false)}>
      <button
        type="button"
        className="explain-button"
        aria-label={`What the ${title} chart means`}
        aria-expanded={open}
        aria-describedby={open ? id : undefined}
        onClick={() => setPinned(!pinned)}
        onFocus={() => setHover(true)}
        onBlur={() => setHover(false)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            setPinned(false);
            setHover(false);
          }
        }}
      >
        ?
      </button>
      {open && (
        <span role="tooltip" id={id} className="explain-text">
          {text}
        </span>
      )}
    </span>
  );
}
