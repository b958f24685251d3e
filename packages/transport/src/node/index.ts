export { PilotStream, type StreamDriver } from './pilot-stream.js';
export { PlaintextCodec, type TunnelCodec, type UdpEndpoint } from './tunnel-codec.js';
export { UdpTransport, type UdpTransportOptions } from './udp-transport.js';
