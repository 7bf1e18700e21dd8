// An error the user can act on: what happened, what to do (the engine's hint), and for GPU
// memory or device loss, what to change in the recipe.
import type { ApiError } from '../../engine/api/types.ts';
import { asSentence } from '../format.ts';
import { explainProblem } from '../store/problems.ts';

export function Problem({ error, onDismiss }: { error: ApiError; onDismiss?: () => void }) {
  const explanation = explainProblem(error);
  return (
    <div className="problem" role="alert" data-error-name={error.name}>
      <div>
        <p className="problem-message">{asSentence(error.message)}</p>
        {error.hint && <p>{error.hint}</p>}
        {explanation && <p className="problem-explanation">{explanation}</p>}
      </div>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
