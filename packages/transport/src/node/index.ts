export { FrameSlab } from './frame-slab.js';
export type { PacketLink, PacketReceiver } from './packet-link.js';
export { PilotStream, type StreamDriver } from './pilot-stream.js';
export { SealedCodec, type SealedCodecCounters, type SealedCodecOptions } from './sealed-codec.js';
export { PlaintextCodec, type TunnelCodec } from './tunnel-codec.js';
export { bindUdpSocket, UdpLink, type UdpLinkOptions } from './udp-link.js';
export { type PlainUdpTransportOptions, UdpTransport, type UdpTransportOptions } from './udp-transport.js';
