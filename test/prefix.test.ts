// The service's prefix cache: the rule it bills by (the fake's cache), and what synthai reads off
// its prompts before a run (the prefix every request shares, what it saves, where a placeholder
// keeps static text out of it).
import { describe, expect, test } from "vitest";
import { batchPrice, cacheableTokens, prefixCacheOf } from "../src/api/pricing.ts";
import { PrefixCache } from "../src/fake/prefix-cache.ts";
import {
  markedDraw,
  prefixHint,
  prefixLine,
  prefixSaving,
  prefixWarning,
  sharedStart,
  SharedPrefix,
  splitAtPlaceholder,
  stagePrefix,
} from "../src/pipeline/prefix.ts";
import type { Message } from "../src/api/endpoints/index.ts";

/** Text of `tokens` of the fake's tokens (four characters each), different for each `seed`. */
const text = (tokens: number, seed = "a") => seed.repeat(4 * tokens);
/** A count of four characters a token, as the fake bills. */
const byChars = async (messages: Message[]) =>
  messages.reduce((s, m) => s + Math.ceil(m.content.length / 4), 0);
const price = { input: 0.5, output: 2.5, cachedInput: 0.05 };
const OPENAI = prefixCacheOf("openai", "gpt-6.1-terra")!;
const openai = { vendor: "OpenAI", cache: OPENAI };

describe("the service's prefix cache (the fake)", () => {
  test("the first prompt with a prefix is a miss; a later one is billed its longest shared prefix, in 128-token steps from 1,024", () => {
    const cache = new PrefixCache();
    const rubric = text(1300);
    expect(cache.cachedTokens(rubric + text(200, "x"), 1500)).toBe(0);
    // 1,300 tokens shared, then it differs: cached down to the step, 1,280.
    expect(cache.cachedTokens(rubric + text(200, "y"), 1500)).toBe(1280);
    // The whole of a prompt seen before, to the last whole step.
    expect(cache.cachedTokens(rubric + text(200, "y"), 1500)).toBe(1408);
  });

  test("under 1,024 shared tokens nothing is cached", () => {
    const cache = new PrefixCache();
    cache.cachedTokens(text(1000) + text(500, "x"), 1500);
    expect(cache.cachedTokens(text(1000) + text(500, "y"), 1500)).toBe(0);
  });

  test("prefixes used least recently are forgotten first, one used by every request never", () => {
    const cache = new PrefixCache(4);
    const shared = text(1024);
    cache.cachedTokens(shared, 1024);
    for (const seed of "bcdefg") {
      expect(cache.cachedTokens(shared, 1024)).toBe(1024);
      cache.cachedTokens(text(1024, seed), 1024);
    }
    // "b" was pushed out by the later ones: it is a miss again.
    expect(cache.cachedTokens(text(1024, "b"), 1024)).toBe(0);
  });

  test("cacheableTokens is the documented rule", () => {
    expect([1023, 1024, 1151, 1152, 5000].map((t) => cacheableTokens(t))).toEqual([
      0, 1024, 1024, 1152, 4992,
    ]);
  });
});

describe("the prefix a stage's requests share", () => {
  test("folded over the requests: whole messages, then the common start of the first that differs", () => {
    const system = { role: "system" as const, content: "You judge calls." };
    let shared: Message[] | undefined;
    for (const call of ["Rubric: be fair.\nCall: hello", "Rubric: be fair.\nCall: goodbye"])
      shared = sharedStart(shared, [system, { role: "user", content: call }]);
    expect(shared).toEqual([system, { role: "user", content: "Rubric: be fair.\nCall: " }]);
    expect(sharedStart(shared, [{ role: "user", content: "You judge calls." }])).toEqual([]);
  });

  test("SharedPrefix keeps the first draw and counts the requests", () => {
    const shared = new SharedPrefix();
    const draw = { params: {}, values: { a: "1" } };
    shared.add([{ role: "user", content: "abc" }], draw);
    shared.add([{ role: "user", content: "abd" }], { params: {}, values: {} });
    expect([shared.messages, shared.first, shared.requests]).toEqual([
      [{ role: "user", content: "ab" }],
      draw,
      2,
    ]);
  });

  test("a marked draw splits a prompt at its first placeholder, naming it, with the static text after it", () => {
    const draw = markedDraw({
      params: { Call: { Attitude: "calm" } },
      values: { Name: "Ann" },
      fields: { Call: "…" },
    });
    const prompt = (d: typeof draw): Message[] => [
      { role: "system", content: "You rate calls." },
      {
        role: "user",
        content: `Attitude ${d.params.Call!.Attitude}. Rubric.\n${d.fields!.Call} by ${d.values.Name}. End.`,
      },
    ];
    expect(splitAtPlaceholder(prompt(draw))).toEqual({
      before: [
        { role: "system", content: "You rate calls." },
        { role: "user", content: "Attitude " },
      ],
      placeholder: "Attitude",
      after: ". Rubric.\n by . End.",
    });
    expect(splitAtPlaceholder([{ role: "user", content: "no placeholder" }])).toEqual({
      before: [{ role: "user", content: "no placeholder" }],
      after: "",
    });
  });

  test("what a shared prefix saves: every request but the first, its cacheable part at the cached price", () => {
    const tokens = (sharedTokens: number) => ({ sharedTokens, systemTokens: 0 });
    expect(prefixSaving(price, OPENAI, 1000, tokens(1000))).toEqual({ cachedTokens: 0, savedUsd: 0 });
    const { cachedTokens, savedUsd } = prefixSaving(price, OPENAI, 1000, tokens(1300));
    expect(cachedTokens).toBe(1280);
    expect(savedUsd).toBeCloseTo((1280 * 999 * (0.5 - 0.05)) / 1e6, 12);
  });

  test("a placeholder before 1,024 static tokens is warned about; one before less, or a prompt laid out prefix-first, is not", async () => {
    const marked = (d: ReturnType<typeof markedDraw>) => [
      { role: "user" as const, content: `${d.values.Call} ${text(1100)}` },
    ];
    const draw = markedDraw({ params: {}, values: { Call: "x" } });
    const stage = { stage: 2, model: "gpt-6.1-terra", price, requests: 100, ...openai };
    const first = await stagePrefix(stage, marked(draw), byChars);
    expect(first.sharedTokens).toBe(0);
    expect(prefixWarning(first)).toMatch(
      /^warning: stage 2: \{\{Call\}\} at token 0 comes before 1101 tokens of static text/,
    );
    const last = await stagePrefix(
      stage,
      [{ role: "user", content: `${text(1100)} ${draw.values.Call}` }],
      byChars,
    );
    expect(last.sharedTokens).toBe(1101);
    expect(prefixWarning(last)).toBeUndefined();
    expect(prefixLine(last)).toMatch(
      /^stage 2 \(gpt-6\.1-terra\): 1101 prompt tokens are a prefix shared by all requests; 1024 of them billed at the cached price after the first request: saves \$0\.0456 over 100 requests$/,
    );
    // A model the catalogue does not price (a preview): the tokens, without a saving.
    expect(prefixLine({ ...last, model: "llama-local", price: undefined })).toMatch(
      /1024 of them billed at the cached price after the first request \(no price known for llama-local\)$/,
    );
    const short = await stagePrefix(
      stage,
      [{ role: "user", content: `${draw.values.Call} ${text(900)}` }],
      byChars,
    );
    expect(prefixWarning(short)).toBeUndefined();
  });
});

describe("each vendor's prefix cache, as the dry run and preview price it", () => {
  const claude = (systemTokens: number, sharedTokens: number, model = "claude-sonnet-5-5") => ({
    stage: 2,
    model,
    price: batchPrice(model),
    vendor: "Anthropic",
    cache: prefixCacheOf("anthropic", model),
    requests: 100,
    sharedTokens,
    systemTokens,
  });

  test("the rule: OpenAI's any prefix in 128-token steps; Claude's system prompt alone, from the model's floor, with a write; none documented for Gemini", () => {
    expect(prefixCacheOf("openai", "gpt-6-luna")).toEqual({
      part: "prefix",
      minTokens: 1024,
      stepTokens: 128,
      writes: false,
    });
    expect(prefixCacheOf("anthropic", "claude-sonnet-5-5")).toMatchObject({
      part: "system",
      minTokens: 1024,
      writes: true,
    });
    expect(prefixCacheOf("anthropic", "claude-haiku-4-5")?.minTokens).toBe(4096);
    expect(prefixCacheOf("gemini", "gemini-3-flash")).toBeUndefined();
  });

  test("Claude saves on its system prompt only: reads at the cached price after the first request, less the first request's write at the hour's rate", () => {
    const rule = prefixCacheOf("anthropic", "claude-sonnet-5-5")!;
    // Sonnet 5.5 at batch price: input 1, cache read 0.1, the hour's write 2.
    const { cachedTokens, savedUsd } = prefixSaving(batchPrice("claude-sonnet-5-5"), rule, 100, {
      sharedTokens: 3000,
      systemTokens: 2001,
    });
    expect(cachedTokens).toBe(2001);
    expect(savedUsd).toBeCloseTo((2001 * 99 * (1 - 0.1) - 2001 * (2 - 1)) / 1e6, 12);
    // A system prompt under the model's floor is not marked: nothing cached, however long the shared body.
    expect(
      prefixSaving(batchPrice("claude-sonnet-5-5"), rule, 100, { sharedTokens: 5000, systemTokens: 1000 }),
    ).toEqual({ cachedTokens: 0, savedUsd: 0 });
    const haiku = prefixCacheOf("anthropic", "claude-haiku-4-5")!;
    expect(
      prefixSaving(batchPrice("claude-haiku-4-5"), haiku, 100, { sharedTokens: 3000, systemTokens: 3000 })
        .cachedTokens,
    ).toBe(0);
  });

  test("a Claude stage's line names the system prompt and its saving; a shared body prefix gets a hint to move it into system:", () => {
    expect(prefixLine(claude(2001, 3000))).toMatch(
      /^stage 2 \(claude-sonnet-5-5\): 3000 prompt tokens are a prefix shared by all requests; the system prompt's 2001 billed at the cached price after the first request, which writes them at the cache-write price: saves \$0\.1763 over 100 requests$/,
    );
    expect(prefixHint(claude(2001, 3000))).toBeUndefined();
    const inBody = claude(0, 3000);
    expect(prefixLine(inBody)).toMatch(
      /; Anthropic caches only the system prompt \(0 tokens here\) from 1024, so none is billed as cached$/,
    );
    expect(prefixHint(inBody)).toMatch(
      /^hint: stage 2: 3000 shared prompt tokens are in the messages, .*into `system:`$/,
    );
    // OpenAI caches the body's prefix itself: no hint there.
    expect(prefixHint({ ...inBody, model: "gpt-6-luna", vendor: "OpenAI", cache: OPENAI })).toBeUndefined();
  });

  test("a Gemini stage shows its shared tokens and no saving, and no warning", () => {
    const gemini = { ...claude(0, 3000), model: "gemini-3-flash", vendor: "Gemini", cache: undefined };
    const placeholder = { name: "Call", atToken: 0, staticAfter: 3000 };
    expect(prefixLine(gemini)).toMatch(
      /^stage 2 \(gemini-3-flash\): 3000 prompt tokens are a prefix shared by all requests; Gemini's caching in batches is not documented, so no saving is shown$/,
    );
    expect(prefixWarning({ ...gemini, placeholder })).toBeUndefined();
    expect(prefixHint(gemini)).toBeUndefined();
  });

  test("the system prompt counts only where every request's is the same: none with a placeholder in it, nor one the built requests do not share", async () => {
    const stage = {
      stage: 1,
      model: "claude-sonnet-5-5",
      price: undefined,
      requests: 10,
      vendor: "Anthropic",
      cache: undefined,
    };
    const draw = markedDraw({ params: {}, values: { Call: "x" } });
    const rubric = { role: "system" as const, content: text(1200) };
    const user = { role: "user" as const, content: `Call: ${draw.values.Call}` };
    expect((await stagePrefix(stage, [rubric, user], byChars)).systemTokens).toBe(1200);
    const varying = { role: "system" as const, content: `${text(1200)} ${draw.values.Call}` };
    expect((await stagePrefix(stage, [varying, user], byChars)).systemTokens).toBe(0);
    const cut = [{ role: "system" as const, content: text(600) }];
    expect((await stagePrefix(stage, [rubric, user], byChars, cut)).systemTokens).toBe(0);
    expect((await stagePrefix(stage, [rubric, user], byChars, [rubric])).systemTokens).toBe(1200);
  });
});
