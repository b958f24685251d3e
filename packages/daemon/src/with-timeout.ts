import { DaemonErrorCode, daemonError } from './errors.js';

/** `promise`, or a DAEMON_TIMEOUT error naming `what` after `ms`; the timer never outlives it. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(daemonError(DaemonErrorCode.TIMEOUT, `${what} timed out after ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
