export { type Datagram, DatagramStream } from './datagrams.js';
export {
  DEFAULT_SOCKET_PATH,
  Driver,
  type DriverOptions,
  defaultSocketPath,
  pilotHomeOf,
  type RequestOptions,
} from './driver.js';
export { type ErrorKind, errorKind, underlyingCode } from './error-kind.js';
export {
  DAEMON_WIRE_CODES,
  DaemonReplyCode,
  DriverErrorCode,
  daemonError,
  driverError,
} from './errors.js';
export type {
  ConnectionJson,
  HandshakeJson,
  HealthJson,
  InfoJson,
  LocalFile,
  PeerJson,
  PendingHandshake,
  ResolvedHost,
  SentFile,
  TrustedPeer,
} from './info.js';
export { checkSocketOwner } from './ipc-channel.js';
export { type IncomingConnection, Listener } from './listener.js';
export { type ConnectionInfo, PilotConnection, SEND_SLICE_BYTES } from './pilot-connection.js';
export { parseTarget, type Target } from './target.js';
