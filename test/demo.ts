// `npm run demo [-- synthai flags]`: runs synthai against the bundled fake OpenAI, with no key
// and no network, so a newcomer sees the whole pipeline in seconds.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FakeOpenAI } from "../src/fake/server.ts";

const fake = new FakeOpenAI({ apiKey: "demo-key", malformedRate: 0.1, failedRate: 0.05 });
const baseURL = await fake.start();
const entry = fileURLToPath(new URL("../src/synthai.ts", import.meta.url));
const userArgs = process.argv.slice(2);
const args =
  userArgs.length && !userArgs[0]!.startsWith("-")
    ? userArgs
    : ["generate", "-n", "25", "-b", "3", "-p", "demo.csv", ...userArgs];
process.stderr.write(
  `fake OpenAI at ${baseURL} (10% malformed answers, 5% failed lines)\n$ synthai ${args.join(" ")}\n`,
);
const child = spawn(process.execPath, [entry, ...args, "--base-url", baseURL, "--poll-interval", "0.2"], {
  stdio: "inherit",
  env: { ...process.env, OPENAI_API_KEY: "demo-key" },
});
child.on("close", async (code) => {
  await fake.stop();
  process.exit(code ?? 1);
});
