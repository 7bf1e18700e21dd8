// The lesson a student opened (from a link or a file): what it loaded, that nothing was uploaded,
// and the one button left to press.
import { describeLesson } from '../classroom/lesson.ts';
import { useStudio } from '../store/index.ts';
import { statusText } from './RunPanel.tsx';
import { Problem } from './Problem.tsx';

export function OpenedLesson() {
  const o = useStudio((s) => s.openedLesson);
  const training = useStudio((s) => s.training);
  const start = useStudio((s) => s.startTraining);
  const estimate = useStudio((s) => s.memory.estimate);
  if (o.status === 'idle') return null;
  const active = ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(training.phase);
  const title = o.lesson?.title ? `Lesson: ${o.lesson.title}` : 'Lesson';
  return (
    <section className="opened-lesson" aria-label="Opened lesson">
      <h2>{title}</h2>
      {o.lesson && (
        <p>
          From a {o.from === 'file' ? 'lesson file' : 'link'}: {describeLesson(o.lesson)}.{' '}
          {o.from === 'link' && <span className="muted">It travelled inside the link itself: it was not uploaded anywhere, and no server sent it.</span>}
        </p>
      )}
      {o.status === 'restoring' && <p className="muted">Loading the model, the recipe and the data…</p>}
      {o.status === 'ready' && (
        <div className="actions">
          <button type="button" disabled={active || (estimate !== null && !estimate.fits)} onClick={() => void start()}>
            Start training
          </button>
          <span className="muted">{training.phase === 'idle' ? 'Everything is in place: one press trains it, right here in this tab.' : statusText(training)}</span>
        </div>
      )}
      {o.error && <Problem error={o.error} />}
    </section>
  );
}
