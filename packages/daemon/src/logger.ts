import type { LogFormat, LogLevel } from './options.js';

export type LogFields = Readonly<Record<string, unknown>>;

/** Structured logs: `time LEVEL message key=value…` or one JSON object per line. */
export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function createLogger(
  level: LogLevel = 'info',
  format: LogFormat = 'text',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = (at: LogLevel, message: string, fields: LogFields = {}): void => {
    if (RANK[at] < RANK[level]) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      const record: Record<string, unknown> = { time, level: at, msg: message };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) record[key] = value;
      write(`${JSON.stringify(record)}\n`);
      return;
    }
    let text = `${time} ${at.toUpperCase()} ${message}`;
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) text += ` ${key}=${textValue(value)}`;
    write(`${text}\n`);
  };
  return {
    level,
    log,
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
  };
}
