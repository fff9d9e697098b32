// The run being driven, named when it is interrupted or fails. Apart from shared.ts, so the entry
// can name it without loading every command's flags (and zod with them) for `--version`.
let activeRun: string | undefined;

export function activeRunId(): string | undefined {
  return activeRun;
}

/** `undefined` as a command starts: none is driven yet. */
export function setActiveRun(id: string | undefined): void {
  activeRun = id;
}
