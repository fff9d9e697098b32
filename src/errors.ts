/** The one error a user sees: what is wrong, and how to fix it. Anything else is a bug. */
export class UserError extends Error {
  readonly hint: string;
  readonly exitCode: number;
  /** The service or network failed in a way that may pass: a long run waits and tries again. */
  transient = false;

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
  let out = text.replace(/\bsk-[A-Za-z0-9_-]{8,}/g, "sk-***");
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}
