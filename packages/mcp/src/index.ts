export { connectMcp, type McpConnectOptions } from './connect-mcp.js';
export { DuplexTransport, type DuplexTransportOptions } from './duplex-transport.js';
export { McpErrorCode } from './errors.js';
export type { McpLog, McpLogLevel } from './log.js';
export { type McpServeHandle, type McpServeOptions, serveMcp } from './serve-mcp.js';
export {
  DEFAULT_MCP_PORT,
  type StreamAcceptor,
  type StreamDialer,
  type StreamListener,
} from './stream-interfaces.js';
export { MAX_MCP_TAG_LENGTH, type McpToolTagsOptions, mcpToolTags, toTag } from './tool-tags.js';
export { type PilotStreamTransport, transportStreams } from './transport-streams.js';
