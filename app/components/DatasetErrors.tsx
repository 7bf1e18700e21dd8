// Every invalid row by its line, and the choice to train on the valid rows only.
import type { DatasetReport } from '../../engine/api/contract.ts';
import { useStudio } from '../store/index.ts';

export function DatasetErrors({ report }: { report: DatasetReport }) {
  const skip = useStudio((s) => s.recipe.skip_invalid_rows);
  const setRecipe = useStudio((s) => s.setRecipe);
  if (report.errorCount === 0) return null;
  return (
    <div className="dataset-errors">
      <p className="problem-message" role="alert">
        {report.errorCount} invalid {report.errorCount === 1 ? 'row' : 'rows'}
        {report.errorCount > report.errors.length && ` (the first ${report.errors.length} below)`}
      </p>
      <ul aria-label="Dataset errors">
        {report.errors.map((e, i) => (
          <li key={i}>
            {e.line > 0 && !e.message.includes(`line ${e.line}`) && <span className="line-number">line {e.line}</span>}
            {e.message}
            {e.hint && <span className="issue-hint"> {e.hint}</span>}
          </li>
        ))}
      </ul>
      <label className="checkbox">
        <input type="checkbox" checked={skip} onChange={(e) => setRecipe({ skip_invalid_rows: e.target.checked })} />
        Skip invalid rows (train on the {report.rows} valid ones)
      </label>
    </div>
  );
}
