import { PilotError } from '@pilot/wire';

/** Stable codes of the metrics package. */
export const MetricsErrorCode = {
  /** A metric or label name that Prometheus does not accept, or a name registered twice. */
  BAD_NAME: 'METRICS_BAD_NAME',
  /** Text that is not valid Prometheus exposition format (parser). */
  BAD_TEXT: 'METRICS_BAD_TEXT',
} as const;
export type MetricsErrorCode = (typeof MetricsErrorCode)[keyof typeof MetricsErrorCode];

export function metricsError(code: MetricsErrorCode, message: string): PilotError {
  return new PilotError(code, message);
}
