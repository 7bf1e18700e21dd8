// The one place where engine errors become what crosses the worker boundary: anything thrown
// inside an EngineApi call (engine code throws WhetstoneError subclasses only) becomes a plain,
// cloneable ApiError, since a thrown Error loses its class, `hint` and fields across postMessage.
import { WhetstoneError } from '../errors.ts';
import type { ApiError } from './types.ts';

const UNEXPECTED = 'This is unexpected; please report it with the message above.';

export function toApiError(e: unknown): ApiError {
  if (e instanceof WhetstoneError) {
    // The error's own fields (sizes asked and allowed, file, line, checkpoint step) as details.
    const details: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k !== 'name' && k !== 'message' && k !== 'hint' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) details[k] = v;
    }
    const out: ApiError = { name: e.name, message: e.message, hint: e.hint };
    if (Object.keys(details).length > 0) out.details = details;
    return out;
  }
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message, hint: UNEXPECTED };
  return { name: 'Error', message: String(e), hint: UNEXPECTED };
}

/** Runs an engine call and rethrows any failure as a plain ApiError. */
export async function reportErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toApiError(e);
  }
}
