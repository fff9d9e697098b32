// The fake refuses what the service refuses, in the service's words, and answers with every field
// OpenAI's published document requires: checked here against that document, not the fake's own code.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import { REQUESTS, TARGET, readDocument, schemasModule, schemasOf } from "../scripts/openai-schemas.ts";
import type { FakeOptions } from "../src/fake/server.ts";
import { API_KEY, PARAMS, expectOneLineError, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();
const document = readDocument();

/** The document's own schema for `name`, compiled from the YAML (not the fake's generated copy). */
function documentSchema(name: string) {
  const { Ajv2020: Ajv } = createRequire(import.meta.url)("ajv/dist/2020.js") as { Ajv2020: typeof Ajv2020 };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(schemasOf(document, [name]), "openai");
  const validate = ajv.getSchema(`openai#/$defs/${name}`)!;
  return (value: unknown) =>
    validate(value)
      ? []
      : validate.errors!.filter((e) => e.keyword !== "anyOf").map((e) => `${e.instancePath} ${e.message}`);
}

async function post(url: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function upload(url: string, name: string, text: string, purpose = "batch") {
  const form = new FormData();
  form.set("purpose", purpose);
  form.set("file", new File([text], name));
  const response = await fetch(`${url}/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}` },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function get(url: string, path: string) {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return response.headers.get("content-type")?.includes("json") ? response.json() : response.text();
}

const CHAT = { model: "gpt-6-luna", messages: [{ role: "user", content: "Write [Answer]" }] };
const RESPONSES = { model: "gpt-6-luna", input: [{ role: "user", content: "Write [Answer]" }] };

describe("the fake refuses what the service refuses, with its status and error shape", () => {
  const cases: [string, string, unknown, string, string | null][] = [
    [
      "an unknown chat parameter",
      "/chat/completions",
      { ...CHAT, colour: "red" },
      "unknown_parameter",
      "colour",
    ],
    [
      "an unknown Responses parameter",
      "/responses",
      { ...RESPONSES, colour: "red" },
      "unknown_parameter",
      "colour",
    ],
    [
      "a chat request without messages",
      "/chat/completions",
      { model: "gpt-6-luna" },
      "missing_required_parameter",
      "messages",
    ],
    [
      "the role robot",
      "/chat/completions",
      { ...CHAT, messages: [{ role: "robot", content: "hi" }] },
      "invalid_value",
      "messages[0].role",
    ],
    [
      "temperature 2.5",
      "/chat/completions",
      { ...CHAT, reasoning_effort: "none", temperature: 2.5 },
      "decimal_above_max_value",
      "temperature",
    ],
    [
      "max_output_tokens 8",
      "/responses",
      { ...RESPONSES, max_output_tokens: 8 },
      "integer_below_min_value",
      "max_output_tokens",
    ],
    [
      "2,049 embeddings inputs",
      "/embeddings",
      { model: "text-embedding-3-small", input: Array(2049).fill("a word") },
      "array_above_max_length",
      "input",
    ],
    ["a body that is not JSON", "/chat/completions", "{model: gpt-6-luna", "invalid_json", null],
    [
      "a prompt over the model's context window",
      "/chat/completions",
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "word ".repeat(110_000) }] },
      "context_length_exceeded",
      "messages",
    ],
    [
      "an unknown batch parameter",
      "/batches",
      { input_file_id: "file-x", endpoint: "/v1/chat/completions", completion_window: "24h", priority: 1 },
      "unknown_parameter",
      "priority",
    ],
  ];
  test.each(cases)("%s: 400 invalid_request_error", async (_, path, body, code, param) => {
    const url = await server.start();
    const answer = await post(url, path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ type: "invalid_request_error", code, param });
    expect(answer.body.error.message).toEqual(expect.any(String));
  });

  test("the messages say what the service says", async () => {
    const url = await server.start();
    const messages = await Promise.all([
      post(url, "/chat/completions", { ...CHAT, colour: "red" }),
      post(url, "/chat/completions", { ...CHAT, messages: [{ role: "robot", content: "hi" }] }),
      post(url, "/chat/completions", { ...CHAT, reasoning_effort: "none", temperature: 2.5 }),
      post(url, "/responses", { ...RESPONSES, max_output_tokens: 8 }),
    ]);
    expect(messages.map((m) => m.body.error.message)).toEqual([
      "Unknown parameter: 'colour'.",
      "Invalid value: 'robot'. Supported values are: 'developer', 'system', 'user', 'assistant', 'tool', 'function'.",
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
      "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 8 instead.",
    ]);
  });

  test("every line of a batch is checked: an invalid one fails alone, in the error file, with a 400", async () => {
    const url = await server.start({ fast: true });
    const line = (id: string, body: unknown) =>
      JSON.stringify({ custom_id: id, method: "POST", url: "/v1/chat/completions", body });
    const file = await upload(
      url,
      "requests.jsonl",
      [line("good", CHAT), line("hot", { ...CHAT, reasoning_effort: "none", temperature: 2.5 })].join("\n"),
    );
    const created = await post(url, "/batches", {
      input_file_id: file.body.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const batch = await get(url, `/batches/${created.body.id}`);
    expect(batch.status).toBe("completed");
    expect(batch.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const [failed] = (await get(url, `/files/${batch.error_file_id}/content`))
      .trim()
      .split("\n")
      .map(JSON.parse);
    expect(failed.custom_id).toBe("hot");
    expect(failed.response.status_code).toBe(400);
    expect(failed.response.body.error).toMatchObject({
      type: "invalid_request_error",
      code: "decimal_above_max_value",
      param: "temperature",
    });
  });

  test("a batch from a batch_output file is refused", async () => {
    const url = await server.start({ fast: true });
    const file = await upload(
      url,
      "requests.jsonl",
      JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/chat/completions", body: CHAT }),
    );
    const created = await post(url, "/batches", {
      input_file_id: file.body.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const batch = await get(url, `/batches/${created.body.id}`);
    const again = await post(url, "/batches", {
      input_file_id: batch.output_file_id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ type: "invalid_request_error", param: "input_file_id" });
    expect(again.body.error.message).toMatch(/batch_output/);
  });

  test("an upload for batches that is not .jsonl is refused", async () => {
    const url = await server.start();
    const answer = await upload(url, "requests.txt", JSON.stringify({ custom_id: "a" }));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ type: "invalid_request_error", param: "file" });
    expect(answer.body.error.message).toBe("Invalid file format for Batch API. Must be .jsonl");
  });

  test("a batch of an empty file fails as empty, with no requests run", async () => {
    const url = await server.start({ fast: true });
    const file = await upload(url, "requests.jsonl", "");
    const created = await post(url, "/batches", {
      input_file_id: file.body.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const batch = await get(url, `/batches/${created.body.id}`);
    expect(batch.status).toBe("failed");
    expect(batch.errors.data).toEqual([expect.objectContaining({ code: "empty_file", line: null })]);
    expect(batch.output_file_id).toBeUndefined();
  });
});

describe("the fake's answers carry every field the document requires", () => {
  const validResponse = documentSchema("Response");
  const validCompletion = documentSchema("CreateChatCompletionResponse");
  const validEmbeddings = documentSchema("CreateEmbeddingResponse");
  const schema = {
    type: "object",
    properties: { Answer: { type: "string" } },
    required: ["Answer"],
    additionalProperties: false,
  };
  const responses: [string, FakeOptions, Record<string, unknown>][] = [
    [
      "a plain answer",
      {},
      { ...RESPONSES, instructions: "Be brief.", reasoning: { effort: "none" }, temperature: 0.7 },
    ],
    ["an answer that reasoned", {}, { ...RESPONSES, reasoning: { effort: "low" }, max_output_tokens: 2000 }],
    ["an answer cut at max_output_tokens", { truncatedRate: 1 }, { ...RESPONSES, max_output_tokens: 16 }],
    [
      "structured output",
      {},
      { ...RESPONSES, text: { format: { type: "json_schema", name: "out", strict: true, schema } } },
    ],
  ];
  test.each(responses)("a Responses answer: %s", async (_, options, request) => {
    const url = await server.start(options);
    const answer = await post(url, "/responses", request);
    expect(answer.status).toBe(200);
    expect(validResponse(answer.body)).toEqual([]);
    for (const field of [
      "tools",
      "tool_choice",
      "parallel_tool_calls",
      "error",
      "instructions",
      "metadata",
      "temperature",
      "top_p",
    ])
      expect(answer.body).toHaveProperty(field);
    expect(answer.body.usage.input_tokens_details.cache_write_tokens).toEqual(expect.any(Number));
  });

  test("Responses answers in a batch's output file, chat answers and embeddings too", async () => {
    const url = await server.start({ fast: true });
    const line = (i: number) =>
      JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/responses", body: RESPONSES });
    const file = await upload(url, "requests.jsonl", [0, 1, 2].map(line).join("\n"));
    const created = await post(url, "/batches", {
      input_file_id: file.body.id,
      endpoint: "/v1/responses",
      completion_window: "24h",
    });
    const batch = await get(url, `/batches/${created.body.id}`);
    const lines = (await get(url, `/files/${batch.output_file_id}/content`))
      .trim()
      .split("\n")
      .map(JSON.parse);
    expect(lines).toHaveLength(3);
    for (const { response } of lines) expect(validResponse(response.body)).toEqual([]);
    expect(validCompletion((await post(url, "/chat/completions", CHAT)).body)).toEqual([]);
    const embeddings = await post(url, "/embeddings", {
      model: "text-embedding-3-small",
      input: ["a b"],
      dimensions: 8,
    });
    expect(validEmbeddings(embeddings.body)).toEqual([]);
  });

  test("encoding_format base64: the same vectors, packed as little-endian float32", async () => {
    const url = await server.start();
    const request = {
      model: "text-embedding-3-small",
      input: ["the bill was wrong", "a meter"],
      dimensions: 8,
    };
    const floats = await post(url, "/embeddings", request);
    const packed = await post(url, "/embeddings", { ...request, encoding_format: "base64" });
    expect(packed.status).toBe(200);
    const unpacked = packed.body.data.map((d: any) => {
      const bytes = Buffer.from(d.embedding, "base64");
      return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    });
    floats.body.data.forEach((d: any, i: number) =>
      d.embedding.forEach((x: number, j: number) => expect(unpacked[i][j]).toBeCloseTo(x, 6)),
    );
  });
});

describe("the fake's copy of the document", () => {
  test("src/fake/openai-schemas.ts is what scripts/openai-schemas.ts makes of the document now", async () => {
    expect(await readFile(TARGET, "utf8")).toBe(await schemasModule(document));
    expect(Object.keys(REQUESTS)).toEqual(["chat", "responses", "embeddings", "batch"]);
  });
});

describe("--fast", () => {
  test("synthai fake --fast takes no --polls-per-phase: one line, exit 2", async () => {
    const refused = await runCli(["fake", "--fast", "--polls-per-phase", "2", "--port", "0"], {
      cwd: await tempDir(),
    });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /--fast and --polls-per-phase cannot go together/);
  });

  test("a batch is done at its first look: a run's every batch is retrieved once", async () => {
    const url = await server.start({ fast: true });
    const cwd = await tempDir();
    const run = await runCli(
      ["-n", "6", "-b", "2", "-j", PARAMS, "-p", "out.csv", "--base-url", url, "--poll-interval", "0.02"],
      { cwd },
    );
    expect(run.code, run.stderr).toBe(0);
    const looks = server.fake.requests.filter((r) => /^\/v1\/batches\/batch_[^/]+$/.test(r.path));
    expect(server.fake.batchesCreated).toBeGreaterThanOrEqual(2);
    expect(looks).toHaveLength(server.fake.batchesCreated);
  });
});
