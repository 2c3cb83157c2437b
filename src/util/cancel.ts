/** Cancellation through AbortSignals, one rule for every backend, store and long job. */
import { O1Error } from '../errors.js';

/**
 * Throws O1Error CANCELLED (the signal's reason as its cause) when `signal` has fired; callers
 * check it between batches or blocks of work.
 *
 * @example
 * throwIfCancelled(options.signal, 'flat search');
 */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new O1Error('CANCELLED', `${what}: cancelled`, {}, { cause: signal.reason });
}
