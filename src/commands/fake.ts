import { UserError } from "../errors.ts";
import { metaOf } from "./index.ts";
import { PROFILES, type ProfileName } from "../fake/profiles.ts";
import { number } from "./options.ts";
import { command } from "./shared.ts";

export default command({
  meta: metaOf("fake"),
  args: {
    port: {
      type: "string",
      description: "Loopback port (Default: 8321; 0 for any free one)",
      valueHint: "n",
    },
    key: { type: "string", description: "The API key it takes (Default: fake-key)", valueHint: "key" },
    "malformed-rate": {
      type: "string",
      description: "Share of answers missing a section (Default: 0)",
      valueHint: "0-1",
    },
    "failed-rate": {
      type: "string",
      description: "Share of request lines that fail (Default: 0)",
      valueHint: "0-1",
    },
    "polls-per-phase": {
      type: "string",
      description: "Status checks a batch stays in each phase, so progress is seen (Default: 3)",
      valueHint: "n",
    },
    fast: {
      type: "boolean",
      description: "A batch ends at its first status check: a round a second with --poll-interval 1",
    },
    latency: { type: "string", description: "Milliseconds each answer waits (Default: 0)", valueHint: "ms" },
    profile: {
      type: "enum",
      options: Object.keys(PROFILES),
      description: "The batch service it plays (Default: openai)",
    },
    hub: { type: "boolean", description: "Serve the fake Hugging Face Hub instead (for export --push)" },
    vendor: {
      type: "enum",
      options: ["openai", "anthropic", "gemini"],
      description:
        "The vendor it plays: anthropic serves Messages and Message Batches, gemini the Gemini API's files, batches and generateContent (Default: openai)",
    },
  },
  async run({ args }) {
    if (args.hub) return serveHub(number(args.port, "--port", { integer: true, min: 0 }) ?? 8321);
    if (args.fast && args["polls-per-phase"] !== undefined)
      throw new UserError(
        "--fast and --polls-per-phase cannot go together",
        "--fast ends a batch at its first look: leave one of them out",
      );
    if (args.vendor === "anthropic") {
      if (args.profile !== undefined)
        throw new UserError(
          "--profile plays an OpenAI-shaped service",
          "leave it out with --vendor anthropic",
        );
      return serveAnthropic(args);
    }
    if (args.vendor === "gemini") return serveGemini(args);
    const { FakeOpenAI } = await import("../fake/server.ts");
    const profile = (args.profile ?? "openai") as ProfileName;
    const share = (value: string | undefined, flag: string) => number(value, flag, { min: 0, max: 1 }) ?? 0;
    const apiKey = args.key || "fake-key";
    const pollsPerPhase =
      number(args["polls-per-phase"], "--polls-per-phase", { integer: true, positive: true }) ?? 3;
    const fake = new FakeOpenAI({
      apiKey,
      malformedRate: share(args["malformed-rate"], "--malformed-rate"),
      failedRate: share(args["failed-rate"], "--failed-rate"),
      pollsPerPhase,
      fast: args.fast === true,
      latencyMs: number(args.latency, "--latency", { min: 0 }) ?? 0,
      profile,
      port: number(args.port, "--port", { integer: true, min: 0 }) ?? 8321,
    });
    return serveUntilStopped(
      fake,
      "fake service",
      (baseURL) =>
        `fake OpenAI (${profile}) at ${baseURL}; point runs at it with:\n` +
        `  export OPENAI_BASE_URL=${baseURL} OPENAI_API_KEY=${apiKey}\n` +
        (args.fast
          ? "a batch is done at its first look: give runs --poll-interval 1 for a round a second\n"
          : `a batch moves a phase every ${pollsPerPhase} looks: give ` +
            `runs --poll-interval 1 to see them through in seconds (or start this with --fast)\n`) +
        "Ctrl-C stops it (its files and batches live only as long as it does)\n",
    );
  },
});

/** The fake Anthropic service (src/fake/anthropic.ts) until stopped, with the lines that point runs at it. */
async function serveAnthropic(args: Record<string, unknown>): Promise<never> {
  const { FakeAnthropic } = await import("../fake/anthropic.ts");
  const apiKey = (args.key as string) || "fake-key";
  const fake = new FakeAnthropic({
    apiKey,
    port: number(args.port as string, "--port", { integer: true, min: 0 }) ?? 8321,
    malformedRate: number(args["malformed-rate"] as string, "--malformed-rate", { min: 0, max: 1 }) ?? 0,
    failedRate: number(args["failed-rate"] as string, "--failed-rate", { min: 0, max: 1 }) ?? 0,
    pollsPerPhase:
      number(args["polls-per-phase"] as string, "--polls-per-phase", { integer: true, positive: true }) ?? 3,
    fast: args.fast === true,
    latencyMs: number(args.latency as string, "--latency", { min: 0 }) ?? 0,
  });
  return serveUntilStopped(
    fake,
    "fake service",
    (url) =>
      `fake Anthropic at ${url}; point runs at it with:\n` +
      `  export ANTHROPIC_BASE_URL=${url} ANTHROPIC_API_KEY=${apiKey}\n` +
      "Ctrl-C stops it (its batches live only as long as it does)\n",
  );
}

/** The fake Hub (src/fake/hub.ts) until stopped, with the lines that point `export --push` at it. */
async function serveHub(port: number): Promise<never> {
  const { FakeHub, FAKE_HUB_TOKEN } = await import("../fake/hub.ts");
  const hub = new FakeHub({ port });
  return serveUntilStopped(
    hub,
    "fake Hub",
    (url) =>
      `fake Hugging Face Hub at ${url} (user synthai-user, organization synthai-org); push to it with:\n` +
      `  export HF_ENDPOINT=${url} HF_TOKEN=${FAKE_HUB_TOKEN}\n` +
      "  synthai export <run-id> --push synthai-user/my-dataset\n" +
      "Ctrl-C stops it (its repositories live only as long as it does)\n",
  );
}

/** The fake Gemini API (src/fake/gemini.ts) until stopped, with the lines that point runs at it. */
async function serveGemini(args: Record<string, unknown>): Promise<never> {
  const { FakeGemini } = await import("../fake/gemini.ts");
  const apiKey = (args.key as string) || "fake-key";
  const share = (flag: string) => number(args[flag] as string, `--${flag}`, { min: 0, max: 1 }) ?? 0;
  const fake = new FakeGemini({
    apiKey,
    port: number(args.port as string, "--port", { integer: true, min: 0 }) ?? 8321,
    malformedRate: share("malformed-rate"),
    failedRate: share("failed-rate"),
    pollsPerPhase:
      number(args["polls-per-phase"] as string, "--polls-per-phase", { integer: true, positive: true }) ?? 3,
    fast: args.fast === true,
  });
  return serveUntilStopped(
    fake,
    "fake service",
    (url) =>
      `fake Gemini API at ${url}; point runs at it with:\n` +
      `  export GOOGLE_GEMINI_BASE_URL=${url} GEMINI_API_KEY=${apiKey}\n` +
      "Ctrl-C stops it (its files and batches live only as long as it does)\n",
  );
}

/** A fake until Ctrl-C: started (a port taken is one line), its address on stdout, how to use it on stderr. */
async function serveUntilStopped(
  fake: { start(): Promise<string>; stop(): Promise<void> },
  what: string,
  howTo: (url: string) => string,
): Promise<never> {
  const url = await fake.start().catch((error: Error) => {
    throw new UserError(
      `the ${what} cannot listen: ${error.message}`,
      "another process has the port: pass --port with another, or --port 0 for any free one",
    );
  });
  console.log(url);
  process.stderr.write(howTo(url));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void fake.stop().then(() => process.exit(0)));
  }
  return new Promise<never>(() => {}); // serves until stopped
}
