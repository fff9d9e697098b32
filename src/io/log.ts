/** Progress and messages go to stderr, so stdout stays clean for what scripts read. */
export interface Log {
  (line: string): void;
  /**
   * A progress line: on a terminal it replaces the previous one; in a log file (CI, nohup) it is
   * printed when `key` (what changed in kind, e.g. batch statuses) changes, else once a minute.
   */
  progress?: (line: string, key?: string) => void;
  /** Columns a progress line may take, when it is redrawn on a terminal. */
  width?: () => number | undefined;
}

export function consoleLog(
  stream: NodeJS.WriteStream = process.stderr,
  everySeconds = 60,
  now = () => Date.now(),
): Log {
  let shown = false;
  let lastKey: string | undefined;
  let lastPrinted = 0;
  const clear = () => {
    if (shown) stream.write("\r\x1b[2K");
    shown = false;
  };
  const log: Log = (line) => {
    clear();
    stream.write(`${line}\n`);
  };
  log.width = () => (stream.isTTY ? (stream.columns || 80) - 1 : undefined);
  log.progress = (line, key = line) => {
    if (stream.isTTY) {
      clear();
      stream.write(line.slice(0, (stream.columns || 120) - 1));
      shown = true;
      return;
    }
    if (key === lastKey && now() - lastPrinted < everySeconds * 1000) return;
    lastKey = key;
    lastPrinted = now();
    stream.write(`${line}\n`);
  };
  return log;
}

export const stderrLog: Log = consoleLog();

export function progress(log: Log, line: string, key?: string): void {
  if (log.progress) log.progress(line, key);
  else log(line);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
