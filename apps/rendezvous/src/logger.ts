export const LogLevel = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export const LogFormat = { TEXT: 'text', JSON: 'json' } as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export type Logger = {
  readonly format: LogFormat;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** One line in the logger's format, whatever the level: the startup announcement. */
  line(message: string, fields?: LogFields): string;
};

function textValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** Lines to `write` (stderr by default): `time LEVEL message key=value…`, or one JSON object per line. */
export function createLogger(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void = (line) => process.stderr.write(line),
  clock: () => Date = () => new Date(),
): Logger {
  const line = (message: string, fields: LogFields = {}, levelName: LogLevel = 'info'): string => {
    const time = clock().toISOString();
    if (format === 'json') {
      const record: Record<string, string | number | boolean> = { time, level: levelName, msg: message };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) record[key] = value;
      return `${JSON.stringify(record)}\n`;
    }
    let text = `${time} ${levelName.toUpperCase()} ${message}`;
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) text += ` ${key}=${textValue(value)}`;
    return `${text}\n`;
  };
  return {
    format,
    log(at, message, fields) {
      if (RANK[at] >= RANK[level]) write(line(message, fields, at));
    },
    line(message, fields) {
      return line(message, fields);
    },
  };
}
