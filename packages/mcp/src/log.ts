export type McpLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where the package reports what happens to sessions (and what their servers print on stderr). */
export type McpLog = (level: McpLogLevel, message: string, fields?: Record<string, unknown>) => void;

export const silentLog: McpLog = () => {};
