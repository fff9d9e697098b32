// The fake OpenAI (src/fake) as a process of its own for the bench: prints its base URL, serves until killed.
import { FakeOpenAI } from "../src/fake/server.ts";

const fake = new FakeOpenAI({ apiKey: process.env.FAKE_API_KEY ?? "bench-key" });
console.log(await fake.start());
