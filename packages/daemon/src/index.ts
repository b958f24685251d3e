export {
  DAEMON_BUDGET_NAMES,
  DAEMON_BUDGETS,
  type DaemonBudgetName,
  type DaemonBudgets,
  resolveDaemonBudgets,
} from './budgets.js';
export { type Daemon, type InfoJson, startDaemon } from './daemon.js';
export {
  datagramCeiling,
  INTERNET_DATAGRAM_CEILING_V4,
  INTERNET_DATAGRAM_CEILING_V6,
  LAN_DATAGRAM_CEILING,
  LOOPBACK_DATAGRAM_CEILING,
  LOOPBACK_DATAGRAM_CEILING_V6,
} from './datagram-ceiling.js';
export {
  DaemonErrorCode,
  daemonError,
  IpcErrorCode,
  ipcErrorCode,
} from './errors.js';
export { loadOrCreateIdentity } from './identity-store.js';
export { createLogger, type LogFields, type Logger } from './logger.js';
export { type InboxMessage, Mailbox, type MessageKind } from './mailbox.js';
export {
  type DaemonOptions,
  type Duration,
  type LogFormat,
  type LogLevel,
  parseDaemonArgs,
  parseDuration,
} from './options.js';
export { DAEMON_USAGE, runDaemon } from './run-daemon.js';
export { topicMatches } from './services/event-stream.js';
export type { HandshakeMessage } from './trust.js';
export { MAX_PENDING, type PendingRequest, type TrustedPeer, TrustStore } from './trust-store.js';
export { DAEMON_VERSION } from './version.js';
export { checkWebhookUrl, type WebhookEvent } from './webhook.js';
