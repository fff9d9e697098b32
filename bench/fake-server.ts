// The test suite's fake OpenAI as a process of its own: prints its base URL, serves until killed.
import { FakeOpenAI } from "../test/fake-openai.ts";

const fake = new FakeOpenAI({ apiKey: process.env.FAKE_API_KEY ?? "bench-key" });
console.log(await fake.start());
