// Presenter mode: a switch in the header for projectors (larger text and charts, fewer fields).
import { useStudio } from '../store/index.ts';

export function PresenterToggle() {
  const on = useStudio((s) => s.presenter);
  const set = useStudio((s) => s.setPresenter);
  return (
    <button type="button" className="secondary presenter-toggle" aria-pressed={on} onClick={() => set(!on)} title="Larger text and charts for a projector; advanced recipe fields hidden">
      Presenter mode
    </button>
  );
}
