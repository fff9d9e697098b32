/** The one error a user sees: what is wrong, and how to fix it. Anything else is a bug. */
export class UserError extends Error {
  readonly hint: string;
  readonly exitCode: number;
  /** The service or network failed in a way that may pass: a long run waits and tries again. */
  transient = false;
  /** Whether `synthai resume` goes on from it (a run's API failure); a push to the Hub is pushed again. */
  resumable = true;

  constructor(message: string, hint = "", exitCode = 2) {
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
