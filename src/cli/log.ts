/** The CLI's output: one line per event, as text or as JSON objects (`--log json`). */
export type LogFormat = 'text' | 'json';

export interface Logger {
  readonly format: LogFormat;
  /** A notable event; `fields` are flat values. */
  event(name: string, fields?: Record<string, unknown>): void;
  /** A warning a user should see. */
  warn(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Logger {
  return {
    format,
    event(name, fields = {}) {
      if (format === 'json') write(JSON.stringify({ event: name, ...fields }));
      else write(`chimney: ${name}${formatFields(fields)}`);
    },
    warn(message, fields = {}) {
      if (format === 'json') write(JSON.stringify({ event: 'warning', message, ...fields }));
      else process.stderr.write(`chimney: warning: ${message}${formatFields(fields)}\n`);
    },
  };
}

function formatFields(fields: Record<string, unknown>): string {
  let s = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    s += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  }
  return s;
}
