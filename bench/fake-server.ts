// The three vendors' fakes (src/fake) in one process of their own for the bench: prints one JSON
// line of their base URLs ({openai, anthropic, gemini}), serves until killed.
import { FakeAnthropic } from "../src/fake/anthropic.ts";
import { FakeGemini } from "../src/fake/gemini.ts";
import { FakeOpenAI } from "../src/fake/server.ts";

const apiKey = process.env.FAKE_API_KEY ?? "bench-key";
const [openai, anthropic, gemini] = await Promise.all([
  new FakeOpenAI({ apiKey }).start(),
  new FakeAnthropic({ apiKey }).start(),
  new FakeGemini({ apiKey }).start(),
]);
console.log(JSON.stringify({ openai, anthropic, gemini }));
