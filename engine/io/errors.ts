// Typed errors for reading checkpoints (DESIGN.md "Errors are typed and say what to do").
// CheckpointError: a file is missing, truncated, corrupt, or could not be downloaded.
// ModelFormatError: the files are readable but describe a model Whetstone does not support
// (unknown model_type, a required config field missing or of the wrong type).
import { WhetstoneError } from '../errors.ts';

export class CheckpointError extends WhetstoneError {
  /** The file the problem is in (a path, a File name or a hub path), or '' when it is about the whole folder. */
  readonly file: string;
  constructor(file: string, problem: string, hint: string) {
    super(file ? `${file}: ${problem}` : problem, hint);
    this.file = file;
  }
}

export class ModelFormatError extends WhetstoneError {
  readonly file: string;
  constructor(file: string, problem: string, hint: string) {
    super(file ? `${file}: ${problem}` : problem, hint);
    this.file = file;
  }
}

/** The hint for a file that is cut short or damaged. */
export const CORRUPT_HINT =
  'The file is truncated or corrupt: download it again (an interrupted download or a Git LFS pointer file looks like this).';
