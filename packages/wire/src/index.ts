export {
  ADDRESS_SIZE,
  type Address,
  addressEquals,
  BEACON,
  BROADCAST_NODE,
  broadcastAddress,
  checkAddress,
  decodeAddress,
  encodeAddress,
  formatAddress,
  formatSocketAddress,
  isBroadcast,
  NAMESERVER,
  parseAddress,
  parseSocketAddress,
  REGISTRY,
  type SocketAddress,
  UNSPECIFIED,
} from './address.js';
export {
  BEACON_MAX_RELAY_FRAME,
  type BeaconDiscover,
  type BeaconDiscoverReply,
  type BeaconMessage,
  BeaconMessageType,
  type BeaconPunchCommand,
  type BeaconPunchRequest,
  type BeaconRelay,
  type BeaconRelayDeliver,
  type BeaconSync,
  decodeBeaconMessage,
  encodeBeaconMessage,
  isBeaconMessage,
} from './beacon.js';
export { formatEndpoint, formatIp, type IpEndpoint, parseEndpoint, parseIp } from './beacon-ip.js';
export { crc32 } from './crc32.js';
export { isPilotError, PilotError, WireErrorCode, wireError } from './errors.js';
export {
  decodeFrame,
  encodeFrame,
  encodeFrameHeader,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  IPC_MAX_FRAME,
  REFERENCE_REGISTRY_MAX_FRAME,
  REGISTRY_MAX_FRAME,
} from './frame.js';
export { decodeJsonMessage, encodeJsonFrame } from './frame-json.js';
export {
  decodeIpcMessage,
  encodeIpcFrame,
  encodeIpcMessage,
  IPC_ERROR_GENERIC,
  IpcCommand,
  type IpcJsonReplyType,
  type IpcMessage,
} from './ipc.js';
export { IpcHandshakeAction, type IpcHandshakeRequest } from './ipc-handshake.js';
export { IpcManagedAction, type IpcManagedRequest } from './ipc-managed.js';
export { IpcNetworkAction, type IpcNetworkRequest } from './ipc-network.js';
export {
  CHECKSUM_OFFSET,
  decodePacket,
  encodePacket,
  encodePacketInto,
  HEADER_SIZE,
  hasFlag,
  MAX_PAYLOAD,
  type Packet,
  PacketFlag,
  type PacketInit,
  PROTOCOL_VERSION,
  Protocol,
  packetSize,
} from './packet.js';
export { isValidPort, type PortClass, PortRange, portClass, WellKnownPort } from './port.js';
export {
  decodeSack,
  encodeSack,
  isValidSackBlock,
  MAX_SACK_BLOCKS,
  type SackBlock,
  sackSize,
} from './sack.js';
export {
  seqAdd,
  seqAfter,
  seqAfterOrEqual,
  seqBefore,
  seqBeforeOrEqual,
  seqDiff,
  seqMax,
  seqMin,
} from './seq.js';
export {
  decodeServiceEvent,
  EVENT_MAX_PAYLOAD,
  EVENT_MAX_TOPIC_BYTES,
  encodeServiceEvent,
  type ServiceEvent,
  ServiceEventDecoder,
} from './service-event.js';
export {
  decodeFilePayload,
  encodeFilePayload,
  FILE_NAME_MAX_BYTES,
  type FilePayload,
  fileNameProblem,
} from './service-file.js';
export {
  DataExchangeType,
  decodeServiceFrame,
  encodeServiceFrame,
  SERVICE_FRAME_HEADER_SIZE,
  SERVICE_MAX_PAYLOAD,
  type ServiceFrame,
  ServiceFrameDecoder,
  TaskFrameType,
} from './service-frame.js';
export {
  AUTH_KEY_EXCHANGE_SIZE,
  AUTH_SIGNED_SIZE,
  type AuthKeyExchangeFrame,
  authKeyExchangeSignedBytes,
  type DecodeTunnelFrameOptions,
  decodeTunnelFrame,
  decodeTunnelPacket,
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SIGNATURE_SIZE,
  ENCRYPTED_HEADER_SIZE,
  ENCRYPTED_MIN_SIZE,
  type EncryptedFrame,
  encodeEncryptedFrameHeaderInto,
  encodePlaintextFrame,
  encodeTunnelFrame,
  encodeTunnelFrameInto,
  GCM_TAG_SIZE,
  isBeaconDatagram,
  KEY_EXCHANGE_SIZE,
  type KeyExchangeFrame,
  MAGIC_SIZE,
  NONCE_SIZE,
  type PlaintextFrame,
  type PunchFrame,
  peekTunnelMagic,
  type TunnelFrame,
  type TunnelFrameKind,
  TunnelMagic,
  tunnelFrameSize,
  X25519_PUBLIC_KEY_SIZE,
} from './tunnel-frame.js';
