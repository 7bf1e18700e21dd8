// Filesystem failures as one line naming the path: a full disk, a read-only folder, a file where a
// folder should be... are the user's to fix, so they become a typed FileSystemError (message +
// hint), never a stack trace. Browser-safe (it only reads the error's `code`); the Node writers
// (runStoreNode, fileSetNode, exportNode, hubCacheNode, byteSourceNode) wrap their calls in it.
import { WhetstoneError } from '../errors.ts';

export class FileSystemError extends WhetstoneError {
  /** The path the user knows (a folder or file they named, or one we write into it). */
  readonly path: string;
  /** The errno code, e.g. ENOSPC, EACCES, EROFS, ENOTDIR. */
  readonly code: string;
  constructor(path: string, code: string, message: string, hint: string) {
    super(message, hint);
    this.path = path;
    this.code = code;
  }
}

const PROBLEM: Record<string, [string, string]> = {
  ENOSPC: ['no space left on the device', 'Free some disk space (or pick a folder on another disk) and run again.'],
  EDQUOT: ['the disk quota is exceeded', 'Free some space under your quota (or pick a folder on another disk) and run again.'],
  EROFS: ['the file system is read-only', 'Pick a folder on a writable disk.'],
  EACCES: ['permission denied', 'Pick a folder you can write to, or fix its permissions.'],
  EPERM: ['operation not permitted', 'Pick a folder you can write to, or fix its permissions.'],
  ENOENT: ['no such file or folder', 'Check the path.'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'Pass a folder path (or a path whose parents are folders).'],
  EISDIR: ['it is a folder, not a file', 'Pass a file path.'],
  EEXIST: ['it already exists', 'Remove it or pick another path.'],
  ENOTEMPTY: ['the folder is not empty', 'Remove it or pick another path.'],
  EMFILE: ['too many open files', 'Raise the open-file limit (ulimit -n) and run again.'],
  ENFILE: ['too many open files on the system', 'Close other programs or raise the system limit, then run again.'],
  EIO: ['an input/output error from the device', 'The disk may be failing or disconnected; check it and run again.'],
  ENAMETOOLONG: ['the path is too long', 'Use a shorter path.'],
  ELOOP: ['too many symbolic links', 'Check the symbolic links on the path.'],
  EFBIG: ['the file is too large for this file system', 'Pick a folder on a file system that allows large files.'],
  EBUSY: ['the file or device is busy', 'Close the program using it and run again.'],
  ENXIO: ['no such device', 'Check the path.'],
};

/** The errno code of a Node filesystem error, or null for anything else. */
export function fsErrorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/**
 * A filesystem error as a FileSystemError: `<path>: cannot <action>: <problem>`. Errors that are
 * not filesystem errors (and WhetstoneErrors) come back unchanged, so `throw fsError(e, ...)` is
 * safe in any catch.
 */
export function fsError(e: unknown, path: string, action: string, hint?: string): unknown {
  if (e instanceof WhetstoneError) return e;
  const code = fsErrorCode(e);
  if (!code) return e;
  const [problem, defaultHint] = PROBLEM[code] ?? [`${code}: ${(e as Error).message}`, 'Check the path and the disk, then run again.'];
  return new FileSystemError(path, code, `${path}: cannot ${action}: ${problem}`, hint ?? defaultHint);
}

/** Runs `fn`, turning a filesystem error into a FileSystemError naming `path`. */
export async function withFsErrors<T>(path: string, action: string, fn: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fsError(e, path, action, hint);
  }
}
