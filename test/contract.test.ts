// Runs the pipeline through Stoplight Prism's validating proxy, which checks every request
// synthai sends and every answer the fake gives against OpenAI's published OpenAPI document;
// and checks every request line synthai writes, of every shape, against that document.
import { spawn, type ChildProcess } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REQUESTS, readDocument, schemasOf } from "../scripts/openai-schemas.ts";
import { checkBody } from "../src/fake/checks.ts";
import type { FakeAnthropic } from "../src/fake/anthropic.ts";
import { FakeOpenAI } from "../src/fake/server.ts";
import { API_KEY, PARAMS, ROOT, readCsv, readJsonlFile, runCli, tempDir, useFake } from "./helpers.ts";

const DOCUMENT = join(ROOT, "test/contract/openai-openapi.yaml");
let fake: FakeOpenAI;
let prism: ChildProcess;
let prismUrl: string;
let prismLog = "";

/** The requests an Anthropic fake answered in its batches (each it refuses ends `errored`). */
function succeededOn(fake: FakeAnthropic): number {
  const results = fake.batches.flatMap((b) => (b.results ?? "").split("\n").filter(Boolean));
  return results.filter((line) => JSON.parse(line).result.type === "succeeded").length;
}

describe("through Prism's validating proxy", () => {
  beforeAll(async () => {
    fake = new FakeOpenAI({ apiKey: API_KEY, malformedRate: 0.2, failedRate: 0.1, expireFirst: 1 });
    const upstream = await fake.start();
    const port = await freePort();
    const document = await documentWithRawDownloads();
    prism = spawn(process.execPath, [
      join(ROOT, "node_modules/@stoplight/prism-cli/dist/index.js"),
      "proxy",
      document,
      upstream,
      "--errors",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
    ]);
    prismUrl = `http://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      const onData = (data: Buffer) => {
        prismLog += data;
        if (prismLog.includes("Prism is listening")) resolve();
      };
      prism.stdout!.on("data", onData);
      prism.stderr!.on("data", onData);
      prism.on("exit", (code) => reject(new Error(`prism exited with ${code}:\n${prismLog.slice(-2000)}`)));
    });
  }, 180_000);

  afterAll(async () => {
    prism?.kill();
    await fake?.stop();
  });

  test("synthai's requests and the fake's answers match OpenAI's published schema", async () => {
    const cwd = await tempDir();
    const result = await runCli(
      [
        "-n",
        "12",
        "-b",
        "2",
        "-p",
        "out.csv",
        "-j",
        PARAMS,
        "--base-url",
        prismUrl,
        "--poll-interval",
        "0.05",
      ],
      { cwd },
    );
    expect(result.stderr).toContain("done: 12 of 12 samples");
    expect(result.code).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);

    const detached = await runCli(
      ["-n", "4", "--detach", "--keep-remote", "-p", "out.csv", "-j", PARAMS, "--base-url", prismUrl],
      { cwd },
    );
    expect(detached.code).toBe(0);
    const cancelled = await runCli(
      ["cancel", detached.stdout.trim(), "--base-url", prismUrl, "--poll-interval", "0.05"],
      { cwd },
    );
    expect(cancelled.stderr).toContain("stopped: cancelled");
    const gc = await runCli(["gc", "--base-url", prismUrl], { cwd });
    expect(gc.stderr).toMatch(/\d+ orphaned synthai file\(s\) deleted/);

    const reviews = join(ROOT, "examples/product-reviews");
    const direct = await runCli(
      [
        "-n",
        "4",
        "--mode",
        "sync",
        "--spec",
        join(reviews, "dataset.ts"),
        "-j",
        join(reviews, "params.json"),
        "-p",
        "reviews.csv",
        "--base-url",
        prismUrl,
      ],
      { cwd },
    );
    expect(direct.stderr).toContain("done: 4 of 4 samples");

    const paths = new Set(
      fake.requests.map((r) => `${r.method} ${r.path.replace(/(file-|batch_)[\w]+/, "$1…")}`),
    );
    expect(paths).toEqual(
      new Set([
        "GET /v1/batches",
        "POST /v1/files",
        "POST /v1/batches",
        "GET /v1/batches/batch_…",
        "GET /v1/files/file-…/content",
        "DELETE /v1/files/file-…",
        "POST /v1/batches/batch_…/cancel",
        "GET /v1/files",
        "GET /v1/models",
        "GET /v1/models/gpt-6-luna",
        "POST /v1/chat/completions",
      ]),
    );
    expect(prismLog).not.toMatch(/Violation|✖/);
  }, 120_000);
});

describe("every request line synthai writes is one the document takes", () => {
  const server = useFake();
  const { Ajv2020: Ajv } = createRequire(import.meta.url)("ajv/dist/2020.js") as { Ajv2020: typeof Ajv2020 };
  // From the YAML itself, not the fake's generated copy; each body closed as the service closes it.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(schemasOf(readDocument(), Object.values(REQUESTS), Object.values(REQUESTS)), "openai");
  const KINDS: Record<string, keyof typeof REQUESTS> = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
  };
  /** What the document refuses in one line (its envelope and its body); empty when it takes it. */
  function refused(line: any): string[] {
    const kind = KINDS[line.url];
    if (typeof line.custom_id !== "string" || line.method !== "POST" || !kind)
      return [`envelope ${line.url}`];
    const validate = ajv.getSchema(`openai#/$defs/${REQUESTS[kind]}`)!;
    return validate(line.body) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`);
  }
  /** Every request line in a folder's runs: the files synthai uploaded, every stage and attempt. */
  async function requestLines(cwd: string): Promise<any[]> {
    const lines = [];
    for (const id of await readdir(join(cwd, "runs")))
      for (const file of await readdir(join(cwd, "runs", id), { recursive: true, encoding: "utf8" }))
        if (file.startsWith("requests") && file.endsWith(".jsonl"))
          lines.push(...(await readJsonlFile(join(cwd, "runs", id, file))));
    return lines;
  }

  const example = (name: string, ...files: string[]) => [
    ...files.flatMap((f) =>
      (f.endsWith(".ts") ? ["--spec"] : ["--prompt"]).concat(join(ROOT, "examples", name, f)),
    ),
    "-j",
    join(ROOT, "examples", name, "params.json"),
  ];
  const shapes: [string, string[]][] = [
    ["the built-in dataset, chat", ["-j", PARAMS]],
    ["Responses at the highest temperature", ["-j", PARAMS, "--endpoint", "responses", "--temperature", "2"]],
    ["structured output from a spec", example("product-reviews", "dataset.ts")],
    ["three stages with a schema", example("judged-calls", "write.md", "judge.md", "rewrite.md")],
    [
      "three stages on Responses",
      [...example("judged-calls", "write.md", "judge.md", "rewrite.md"), "--endpoint", "responses"],
    ],
    ["a conversation", example("support-dialogues", "scenario.md", "dialogue.md")],
    ["two models and a judge", example("preference-pairs", "ask.md", "answer.md", "judge.md")],
  ];
  test.each(shapes)("%s: the document and the fake take every line", async (_, args) => {
    const url = await server.start({ fast: true });
    const cwd = await tempDir();
    const run = await runCli(
      ["-n", "6", ...args, "-p", "out.jsonl", "--base-url", url, "--poll-interval", "0.02"],
      {
        cwd,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const all = await requestLines(cwd);
    expect(all.length).toBeGreaterThanOrEqual(6);
    // A stage on Anthropic or Gemini (the examples' judges, rewrite and second model) writes that
    // vendor's lines: its own fake, as strict as its documentation, judged each and refused none.
    const lines = all.filter((line) => KINDS[line.url]);
    const claude = all.filter((line) => line.url === "/v1/messages");
    const gemini = all.filter((line) => line.url.endsWith(":generateContent"));
    expect(lines.length + claude.length + gemini.length).toBe(all.length);
    expect(succeededOn(server.anthropic)).toBe(claude.length);
    expect(server.gemini.batchBilled).toHaveLength(gemini.length);
    for (const line of lines) expect(refused(line), JSON.stringify(line.body)).toEqual([]);
    // The fake judges each line as the document does: it takes these, and refuses them spoiled.
    for (const line of lines) {
      const kind = KINDS[line.url]!;
      expect(checkBody(kind, line.body)).toBeUndefined();
      const spoiled = { ...line.body, max_output_tokens: 8, max_completion_tokens: 8, temperature: 2.5 };
      expect(refused({ ...line, body: spoiled })).not.toEqual([]);
      expect(checkBody(kind, spoiled)?.status).toBe(400);
    }
  });

  test("--dedup semantic's embeddings lines", async () => {
    const url = await server.start({ fast: true });
    const cwd = await tempDir();
    const made = await runCli(
      ["-n", "8", "-j", PARAMS, "-p", "out.csv", "--base-url", url, "--poll-interval", "0.02"],
      { cwd },
    );
    expect(made.code, made.stderr).toBe(0);
    const id = (await readdir(join(cwd, "runs")))[0]!;
    const before = (await requestLines(cwd)).length;
    const exported = await runCli(
      ["export", id, "-p", "meaning.csv", "--dedup", "semantic", "--base-url", url],
      { cwd },
    );
    expect(exported.code, exported.stderr).toBe(0);
    const embeddings = (await requestLines(cwd)).filter((line) => line.url === "/v1/embeddings");
    expect((await requestLines(cwd)).length).toBeGreaterThan(before);
    expect(embeddings.length).toBeGreaterThan(0);
    for (const line of embeddings) expect(refused(line)).toEqual([]);
  });
});

/** The document's paths synthai calls (the test below says which it sent, exactly). */
const CALLED = [
  "/batches",
  "/batches/{batch_id}",
  "/batches/{batch_id}/cancel",
  "/files",
  "/files/{file_id}",
  "/files/{file_id}/content",
  "/models",
  "/models/{model}",
  "/chat/completions",
];

/**
 * The document for Prism: only the paths synthai calls, with every component they reach, checked
 * as the whole document checks them (Prism takes 2 s to read this, 24 s of CPU for all 182 paths;
 * a path left out is refused, not let through). The document types /files/{file_id}/content as
 * JSON, while the service sends the raw JSONL bytes (a known mismatch,
 * ../shared/openai/BATCH-CONTRACT.md): that one answer is checked as bytes.
 */
async function documentWithRawDownloads(): Promise<string> {
  const document = readDocument(DOCUMENT);
  const paths = Object.fromEntries(CALLED.map((path) => [path, document.paths[path]]));
  const download = paths["/files/{file_id}/content"].get.responses["200"].content;
  download["application/octet-stream"] = download["application/json"];
  delete download["application/json"];
  const reached = new Set<string>();
  const walk = (value: unknown): void => {
    if (!value || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      if (key !== "$ref" || typeof inner !== "string") walk(inner);
      else if (!reached.has(inner)) {
        reached.add(inner);
        const [, , kind, name] = inner.split("/");
        walk(document.components[kind!][name!]);
      }
    }
  };
  walk(paths);
  walk(document.security);
  const components = Object.fromEntries(
    Object.entries(document.components as Record<string, Record<string, unknown>>).map(([kind, all]) => [
      kind,
      kind === "securitySchemes"
        ? all
        : Object.fromEntries(
            Object.entries(all).filter(([name]) => reached.has(`#/components/${kind}/${name}`)),
          ),
    ]),
  );
  // Webhooks reach components left out; x-oaiMeta is the reference site's.
  const pruned = { ...document, paths, components, webhooks: undefined, "x-oaiMeta": undefined };
  const path = join(await tempDir(), "openapi.json");
  await writeFile(path, JSON.stringify(pruned));
  return path;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
