/** Connection states (spec §5; values as the reference numbers them, LISTEN unused per connection). */
export const ConnectionState = {
  CLOSED: 0,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT: 5,
  CLOSE_WAIT: 6,
  TIME_WAIT: 7,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export function connectionStateName(state: ConnectionState): string {
  for (const [name, value] of Object.entries(ConnectionState)) if (value === state) return name;
  return `UNKNOWN(${state})`;
}
