export { HARNESSES, type Harness, type HarnessServer, harnessConfig } from './harness-config.js';
export { DEFAULT_TOOL_LIMITS, PilotNode, type PilotNodeOptions, type ToolLimits } from './pilot-node.js';
export { parseListen, type RunToolServerOptions, runToolServer } from './run-tool-server.js';
export {
  serveToolsHttp,
  serveToolsStdio,
  type ToolsHttpHandle,
  type ToolsHttpOptions,
} from './serve-tools.js';
export type { JsonSchema, PilotTool, ToolContext } from './tool-definition.js';
export {
  failureJson,
  TOOL_ERROR_HINTS,
  type ToolErrorCode,
  ToolFailure,
  toToolFailure,
} from './tool-error.js';
export { PILOT_TOOLS, PilotToolHost, TOOL_SERVER_INFO, type ToolHostOptions } from './tool-host.js';
