// Sample generations on a fixed prompt every few steps: the model's answer as it learns.
import type { Sample } from '../store/createTrainingSlice.ts';

export function SampleList({ samples }: { samples: Sample[] }) {
  if (samples.length === 0) return null;
  return (
    <section className="samples" aria-label="Samples">
      <h3>Samples</h3>
      <p className="muted">Prompt: {samples[0].prompt}</p>
      <ol>
        {[...samples].reverse().map((s) => (
          <li key={`${s.step}-${s.text.length}`}>
            <span className="line-number">step {s.step}</span> {s.text || <em className="muted">(empty)</em>}
          </li>
        ))}
      </ol>
    </section>
  );
}
