/**
 * Every exit code, in one table: the CLI exits with them, the library's `UserError` carries them,
 * and `synthai --help` lists them (EXIT_MEANINGS).
 */
export const EXIT = {
  DONE: 0,
  BUG: 1,
  /** Bad input: the message says what. */
  USAGE: 2,
  /** The service failed, and waiting will not help. */
  SERVICE: 3,
  /** Stopped by the budget, cancel or --max-draws; resumable. */
  STOPPED: 4,
  /** `status <run>`: still under way. */
  UNDER_WAY: 5,
  /** Nothing valid, or `status <run>`: needs attention. */
  ATTENTION: 6,
  /** The disk refused (full, read-only). */
  DISK: 7,
  /** Ctrl-C (128 + SIGINT), as shells report it. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each exit code means, in the order `--help` lists them. */
export const EXIT_MEANINGS: [ExitCode, string][] = [
  [EXIT.DONE, "done (or detached)"],
  [EXIT.USAGE, "bad input: the message says what"],
  [EXIT.SERVICE, "the API failed, and waiting won't help"],
  [EXIT.STOPPED, "stopped by the budget, cancel or --max-draws (resumable)"],
  [EXIT.UNDER_WAY, "status <run>: still under way"],
  [EXIT.ATTENTION, "nothing valid, or status <run>: needs attention"],
  [EXIT.DISK, "the disk refused (full, read-only)"],
  [EXIT.BUG, "a bug: please report it"],
];

/** The one error a user sees: what is wrong, and how to fix it. Anything else is a bug. */
export class UserError extends Error {
  readonly hint: string;
  readonly exitCode: ExitCode;
  /** The service or network failed in a way that may pass: a long run waits and tries again. */
  transient = false;
  /** Whether `synthai resume` goes on from it (a run's API failure); a push to the Hub is pushed again. */
  resumable = true;

  constructor(message: string, hint = "", exitCode: ExitCode = EXIT.USAGE) {
    super(message);
    this.name = "UserError";
    this.hint = hint;
    this.exitCode = exitCode;
  }

  /** One line: `error: <message> — <hint>`. */
  toLine(): string {
    return `error: ${this.message}${this.hint ? ` — ${this.hint}` : ""}`;
  }
}

/**
 * How an error names an option, from the CLI's flag (`-n/--samples`): the CLI says the flag, the
 * library the option's name as its caller wrote it (`samples`). Here, below every layer, so that a
 * check keeps its one home wherever it sits and is told how its caller spells the option.
 */
export type OptionNamer = (flag: string) => string;
export const cliName: OptionNamer = (flag) => flag;

/**
 * A UserError as a library caller reads it: each CLI flag still in its text (`-k/--api-key`,
 * `--runs-dir`, `--no-cache`) named as `name` names it, so that no caller is told of a flag they
 * never wrote; a command quoted in backticks (`synthai resume <id>`) is the CLI's, and stays.
 */
export function namedBy(error: UserError, name: OptionNamer): UserError {
  const rename = (text: string) =>
    text
      .split(/(`[^`]*`)/)
      .map((part, i) =>
        i % 2
          ? part
          : part.replace(FLAG, (_, flag: string) =>
              flag.startsWith("no-") ? `${name(`--${flag.slice(3)}`)}: false` : name(`--${flag}`),
            ),
      )
      .join("");
  error.message = rename(error.message);
  (error as { hint: string }).hint = rename(error.hint);
  return error;
}

/** A flag as an error writes it: `--max-tokens`, or with its short form first, `-k/--api-key`. */
const FLAG = /(?<![\w-])(?:-[a-zA-Z]\/)?--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g;

/** An option with a value, as its caller would write it: `--hf dir` for the CLI, `hf: "dir"` for the library. */
export function givenAs(name: OptionNamer, flag: string, value: string): string {
  const label = name(`--${flag}`);
  return label.startsWith("-") ? `${label} ${value}` : `${label}: ${JSON.stringify(value)}`;
}

/** Error text with any secret removed; the SDK can echo request headers in messages. */
export function redact(text: string, secrets: (string | null | undefined)[]): string {
  let out = text.replace(/\bsk-[A-Za-z0-9_-]{8,}/g, "sk-***").replace(/\bhf_[A-Za-z0-9]{8,}/g, "hf_***");
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}

/** The name a typo most likely meant (for "did you mean"): within two edits, or a third of a long name. */
export function closest(typed: string, names: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance <= Math.max(2, Math.floor(name.length / 3)) && (!best || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return previous[b.length]!;
}
