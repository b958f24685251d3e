export { FrameSlab } from './frame-slab.js';
export { PilotStream, type StreamDriver } from './pilot-stream.js';
export { SealedCodec, type SealedCodecCounters, type SealedCodecOptions } from './sealed-codec.js';
export { PlaintextCodec, type TunnelCodec, type UdpEndpoint } from './tunnel-codec.js';
export { UdpTransport, type UdpTransportOptions } from './udp-transport.js';
