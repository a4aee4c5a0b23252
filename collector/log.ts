/** Structured JSON logs, one line each, with a level; never secrets or raw IPs. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(
  min: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  return (level, msg, fields) => {
    if (ORDER[level] < ORDER[min]) return;
    write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }));
  };
}
