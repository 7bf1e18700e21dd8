// Turns anything thrown inside the engine into a plain, cloneable ApiError so it reaches the
// page intact (a thrown Error loses its class and `hint` across postMessage).
import { WhetstoneError } from '../errors.ts';
import { isApiError, type ApiError } from './types.ts';

export function toApiError(e: unknown): ApiError {
  if (isApiError(e) && !(e instanceof Error)) return e;
  if (e instanceof WhetstoneError) {
    const details: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k !== 'name' && k !== 'message' && k !== 'hint' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) details[k] = v;
    }
    const out: ApiError = { name: e.name, message: e.message, hint: e.hint };
    if (Object.keys(details).length > 0) out.details = details;
    return out;
  }
  if (e instanceof Error) {
    return { name: e.name || 'Error', message: e.message, hint: 'This is unexpected; please report it with the message above.' };
  }
  return { name: 'Error', message: String(e), hint: 'This is unexpected; please report it with the message above.' };
}

/** Runs an engine call and rethrows any failure as a plain ApiError. */
export async function reportErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw toApiError(e);
  }
}
