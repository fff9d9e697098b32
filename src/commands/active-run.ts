// The run being driven, named when it is interrupted or fails. Apart from shared.ts, so the entry
// can name it without loading every command's flags (and zod with them) for `--version`.
let activeRun: string | undefined;

export function activeRunId(): string | undefined {
  return activeRun;
}

export function setActiveRun(id: string): void {
  activeRun = id;
}
