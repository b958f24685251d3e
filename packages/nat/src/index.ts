// The one ip:port type of pilot-ts and its helpers are defined in @pilot/wire (the layer below the
// transport and nat); this package's API takes and returns them, so they are re-exported here.
export {
  checkUdpAddress,
  formatUdpAddress,
  fromIpEndpoint,
  normalizeIp,
  sameUdpAddress,
  toIpEndpoint,
  type UdpAddress,
} from '@pilot/wire';
export type { RetransmitOptions } from './_transact.js';
export {
  type AmplificationPolicy,
  Beacon,
  type BeaconOptions,
  type BeaconPeer,
  type BeaconStats,
  type RateOptions,
  type TlsRelaySink,
} from './beacon/server.js';
export {
  type BeaconRequest,
  DISCOVER_PADDED_SIZE,
  decodeBeaconRequest,
  encodePaddedBeaconMessage,
  PUNCH_REQUEST_PADDED_SIZE,
} from './beacon-request.js';
export {
  BeaconClient,
  type BeaconClientOptions,
  type BeaconClientStats,
  KEEPALIVE_INTERVAL_MS,
  type KeepaliveOptions,
  MAX_KEEPALIVE_INTERVAL_MS,
  type PunchCommandListener,
  type RelayDeliverListener,
} from './client/beacon-client.js';
export {
  type BirthdayEasyOptions,
  type BirthdayEasyResult,
  type BirthdayHardOptions,
  type BirthdayHardResult,
  birthdayProbeEasy,
  birthdayPunchHard,
} from './client/birthday.js';
export {
  classifyNat,
  discoverEndpoint,
  type NatClassification,
  type NatMapping,
  type ReflectorServer,
} from './client/discover.js';
export { PUNCH_FRAME, type PunchOptions, type PunchResult, punch } from './client/punch.js';
export {
  checkDiscoverProof,
  DISCOVER_PROOF_SIZE,
  DISCOVER_PROOF_VERSION,
  type DiscoverProof,
  decodeDiscoverProof,
  encodeDiscoverProof,
  PROVEN_DISCOVER_SIZE,
} from './discover-proof.js';
export { NatErrorCode, natError } from './errors.js';
export { KeyedLimiter, TokenBucket } from './rate-limit.js';
export {
  encodeBindingRequest,
  STUN_PADDED_REQUEST_SIZE,
  type StunBindingOptions,
  type StunBindingResult,
  stunBinding,
} from './stun/binding.js';
export {
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_SIZE,
  STUN_MAGIC_COOKIE,
  StunAttributeType,
  StunClass,
  StunMethod,
} from './stun/constants.js';
export {
  type DecodeStunOptions,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeAttribute,
  isStunMessage,
  mappedAddressAttribute,
  type StunAttribute,
  type StunErrorCode,
  type StunMessage,
  type StunMessageInit,
  softwareAttribute,
  stunAttributeSize,
  stunMessageType,
  unknownAttributesAttribute,
  xorMappedAddressAttribute,
} from './stun/message.js';
export {
  checkSyncAuth,
  decodeSyncAuth,
  encodeSyncAuth,
  newSyncInstance,
  SYNC_AUTH_SIZE,
  SYNC_AUTH_VERSION,
  SYNC_KEY_MIN_SIZE,
  SYNC_SEQUENCE_PER_MS,
  type SyncAuth,
  SyncSequence,
  syncSequenceMs,
} from './sync-auth.js';
export {
  connectThroughProxy,
  describeProxy,
  dialTcp,
  type HttpProxy,
  parseProxyUrl,
} from './wss/http-connect.js';
export {
  type HttpResponseHead,
  MAX_HTTP_HEAD,
  parseHttpResponseHead,
  readHttpHead,
  wsAcceptKey,
  wsClientKey,
} from './wss/http-head.js';
export {
  TlsRelayLink,
  type TlsRelayLinkOptions,
  type TlsRelayLinkStats,
  type TlsRelayTlsOptions,
} from './wss/relay-client.js';
export {
  checkRelayHello,
  decodeRelayChallenge,
  decodeRelayHello,
  encodeRelayChallenge,
  encodeRelayHello,
  RELAY_HELLO_SIZE,
  RELAY_NONCE_SIZE,
  RELAY_WELCOME,
  type RelayHello,
  RelayHelloType,
} from './wss/relay-hello.js';
export {
  TLS_RELAY_MAX_MESSAGE,
  TlsRelayServer,
  type TlsRelayServerOptions,
  type TlsRelayStats,
} from './wss/relay-server.js';
export { WsConnection, type WsConnectionOptions, type WsConnectionStats } from './wss/ws-connection.js';
export {
  encodeWsClose,
  encodeWsFrame,
  WS_MAX_CONTROL_PAYLOAD,
  type WsDecoderOptions,
  WsFrameDecoder,
  type WsMessage,
  WsOpcode,
  wsHeaderSize,
} from './wss/ws-frame.js';
