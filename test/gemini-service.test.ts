// The Gemini batch service through the official SDK (@google/genai) against the strict fake.
import { GoogleGenAI } from "@google/genai";
import { spawn } from "node:child_process";
import { existsSync, watch, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { BatchAsk, BatchService, RemoteBatch } from "../src/api/batch-service.ts";
import { gemini } from "../src/api/endpoints/gemini.ts";
import { geminiService } from "../src/api/services/gemini.ts";
import { makeService } from "../src/api/services/index.ts";
import { VENDOR_ENDPOINTS } from "../src/api/endpoints/index.ts";
import { UserError } from "../src/errors.ts";
import { FakeGemini, type GeminiFakeOptions } from "../src/fake/gemini.ts";
import { sha256 } from "../src/io/disk.ts";
import { ENTRY, readJsonlFile, tempDir } from "./helpers.ts";

const KEY = "gemini-test-key";
let fake: FakeGemini | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function start(options: GeminiFakeOptions = {}): Promise<{ service: BatchService; baseUrl: string }> {
  fake = new FakeGemini({ apiKey: KEY, ...options });
  const baseUrl = await fake.start();
  return { service: geminiService({ apiKey: KEY, baseURL: baseUrl }), baseUrl };
}

/** A request file of synthai's envelope lines, as build writes them with the Gemini endpoint. */
async function requestFile(ids: string[], temperature = 0.5): Promise<BatchAsk> {
  const dir = await tempDir();
  const path = join(dir, "c0000-a1.jsonl");
  const lines = ids.map((id) => {
    const body = gemini.body([{ role: "user", content: `[Call] for ${id}\n[Summary]` }], {
      model: "gemini-3-flash",
      maxTokens: 4000,
      temperature,
    });
    return JSON.stringify({ custom_id: id, method: "POST", url: gemini.url, body });
  });
  writeFileSync(path, lines.map((l) => `${l}\n`).join(""));
  return {
    path,
    file: "requests/c0000-a1.jsonl",
    name: "synthai-run1-c0000-a1.jsonl",
    url: gemini.url,
    model: "gemini-3-flash",
    requests: ids.length,
    metadata: { synthai_run: "run1", synthai_chunk: "0", synthai_attempt: "1" },
  };
}

const now = () => Math.floor(Date.now() / 1000);

async function lookUntilEnded(service: BatchService, batch: RemoteBatch): Promise<RemoteBatch[]> {
  const seen: RemoteBatch[] = [];
  for (let looks = 0; looks < 20; looks++) {
    const looked = (await service.look([batch.id], batch.createdAt)).get(batch.id)!;
    seen.push(looked);
    if (["completed", "failed", "expired", "cancelled"].includes(looked.status)) return seen;
  }
  throw new Error("the job never ended");
}

describe("the Gemini batch service, through the SDK, against the fake", () => {
  test("upload, create, look until SUCCEEDED, results by key in synthai's envelope", async () => {
    const { service } = await start({ pollsPerPhase: 2 });
    const ask = await requestFile(["r0", "r1", "r2"]);
    const since = now();
    ask.fileId = await service.upload(ask, since);
    // What was uploaded is Gemini's lines, keyed by custom id, without the model the job names.
    const uploaded = [...fake!.files.values()][0]!;
    expect(uploaded.resource.displayName).toBe(ask.name);
    const first = JSON.parse(uploaded.content.toString("utf8").split("\n")[0]!);
    expect(Object.keys(first)).toEqual(["key", "request"]);
    expect(first.key).toBe("r0");
    expect(first.request.model).toBeUndefined();
    expect(existsSync(`${ask.path}.gemini.jsonl`)).toBe(false);

    const created = await service.create(ask, since);
    expect(created).toMatchObject({ status: "validating", said: "JOB_STATE_PENDING" });
    const looks = await lookUntilEnded(service, created);
    expect(looks.map((l) => l.said)).toEqual([
      "JOB_STATE_PENDING",
      "JOB_STATE_RUNNING",
      "JOB_STATE_RUNNING",
      "JOB_STATE_SUCCEEDED",
    ]);
    const ended = looks.at(-1)!;
    expect(ended.status).toBe("completed");
    // The SDK passes no batchStats through: progress is unknown until the job ends.
    expect(ended.counts).toBeUndefined();
    expect(ended.outputRef).toMatch(/^files\/batch-/);

    const dir = await tempDir();
    const to = { output: join(dir, "output.jsonl"), errors: join(dir, "errors.jsonl") };
    const written = await service.results(ended, to);
    expect(written.errors).toBeUndefined();
    expect(existsSync(to.errors)).toBe(false);
    expect(written.output).toEqual({ sha256: await sha256(to.output), lines: 3 });
    const lines = await readJsonlFile(to.output);
    expect(lines.map((l) => l.custom_id)).toEqual(["r0", "r1", "r2"]);
    // What the fake billed is what the answers report.
    expect(fake!.batchUsage).toEqual(lines.map((l) => l.response.body.usageMetadata));
    for (const line of lines) {
      expect(line.response.status_code).toBe(200);
      const answer = gemini.read(line.response.body);
      expect(answer.text).toMatch(/^\[Call\]\n[\s\S]*\[Summary\]\n/);
      expect(answer.finish).toBe("stop");
      expect(answer.promptTokens).toBeGreaterThan(0);
      expect(answer.reasoningTokens).toBeGreaterThan(0);
    }

    // Everything the batch left is deleted: the uploaded file, the result file, the job.
    expect(await service.remove([ask.fileId, ended.outputRef!], ended.id)).toEqual([]);
    expect(fake!.files.size).toBe(0);
    expect(fake!.batches.size).toBe(0);
  });

  test("an upload writes nothing in the run folder: Gemini's lines go to a temp file, removed after", async () => {
    const { service } = await start();
    const ask = await requestFile(["r0", "r1"]);
    const temp = await tempDir();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    const made = { run: [] as string[], temp: [] as string[] };
    const watchers = [
      watch(dirname(ask.path), (_, name) => made.run.push(String(name))),
      watch(temp, (_, name) => made.temp.push(String(name))),
    ];
    try {
      ask.fileId = await service.upload(ask, now());
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      watchers.forEach((w) => w.close());
    }
    expect(made.run).toEqual([]);
    expect(made.temp.length).toBeGreaterThan(0);
    expect(await readdir(temp)).toEqual([]);
    const uploaded = [...fake!.files.values()][0]!;
    expect(uploaded.content.toString("utf8").trim().split("\n")).toHaveLength(2);
  });

  test("an upload and a job a crash left unrecorded are found by name, and only this attempt's", async () => {
    const { service } = await start();
    const ask = await requestFile(["a", "b"]);
    const since = now();
    expect(await service.findUpload(ask, since)).toBeUndefined();
    ask.fileId = await service.upload(ask, since);
    expect(await service.findUpload(ask, since)).toBe(ask.fileId);
    expect(await service.find(ask, since)).toBeUndefined();
    const created = await service.create(ask, since);
    const found = await service.find(ask, since);
    expect(found?.id).toBe(created.id);
    const other = {
      ...ask,
      name: "synthai-run1-c0000-a2.jsonl",
      metadata: { ...ask.metadata, synthai_attempt: "2" },
    };
    expect(await service.find(other, since)).toBeUndefined();
    expect(await service.findUpload(other, since)).toBeUndefined();
    // A job made long before this attempt began is not this attempt's.
    expect(await service.find(ask, since + 3600)).toBeUndefined();
  });

  test("a create whose answer is lost is settled by finding the job, never by making a second", async () => {
    const { service } = await start({
      faults: [
        {
          method: "POST",
          path: /:batchGenerateContent$/,
          status: "UNAVAILABLE",
          times: 1,
          afterHandling: true,
        },
      ],
    });
    const ask = await requestFile(["a"]);
    const since = now();
    ask.fileId = await service.upload(ask, since);
    const created = await service.create(ask, since);
    expect(fake!.batchesCreated).toBe(1);
    expect(created.id).toBe(`batches/${[...fake!.batches.keys()][0]}`);
  });

  test("a job SUCCEEDED with every line failed: each line is an error by key, none an answer", async () => {
    const { service } = await start({ fast: true });
    // Gemini takes temperatures from 0 to 2: every line is refused, the job still succeeds.
    const ask = await requestFile(["x0", "x1"], 3);
    const since = now();
    ask.fileId = await service.upload(ask, since);
    const ended = (await service.look([(await service.create(ask, since)).id], since)).values().next().value!;
    expect(ended).toMatchObject({ status: "completed", said: "JOB_STATE_SUCCEEDED" });
    const dir = await tempDir();
    const to = { output: join(dir, "output.jsonl"), errors: join(dir, "errors.jsonl") };
    writeFileSync(to.output, "stale\n");
    const written = await service.results(ended, to);
    expect(written.output).toBeUndefined();
    expect(existsSync(to.output)).toBe(false);
    expect(written.errors?.lines).toBe(2);
    const errors = await readJsonlFile(to.errors);
    expect(errors.map((e) => e.custom_id)).toEqual(["x0", "x1"]);
    for (const line of errors) {
      expect(line.response.status_code).toBe(400);
      expect(line.error.code).toBe("INVALID_ARGUMENT");
      expect(line.error.message).toMatch(/temperature/);
    }
  });

  test.each([
    ["expired", "JOB_STATE_EXPIRED", { expireFirst: 1 }],
    ["failed", "JOB_STATE_FAILED", { failFirst: 1 }],
  ] as const)("a job %s has no results: both files are absent", async (status, said, fate) => {
    const { service } = await start({ fast: true, ...fate });
    const ask = await requestFile(["a"]);
    ask.fileId = await service.upload(ask, now());
    const created = await service.create(ask, now());
    const ended = (await service.look([created.id], created.createdAt)).get(created.id)!;
    expect(ended).toMatchObject({ status, said });
    if (status === "failed") expect(ended.errors).toHaveLength(1);
    const dir = await tempDir();
    expect(await service.results(ended, { output: join(dir, "o"), errors: join(dir, "e") })).toEqual({});
  });

  test("a request sent directly: an answer, or the service's refusal as a value", async () => {
    const { service } = await start();
    const body = gemini.body(
      [
        { role: "system", content: "Be brief." },
        { role: "user", content: "[Call]" },
      ],
      {
        model: "gemini-2.5-flash",
        maxTokens: 3000,
        effort: "none",
      },
    );
    const sent = await service.send(gemini.url, body);
    if (!sent.ok) throw sent.failure;
    const answer = gemini.read(sent.body);
    expect(answer).toMatchObject({ finish: "stop", reasoningTokens: 0 });
    expect(answer.text).toMatch(/^\[Call\]\n/);
    expect(fake!.directUsage).toHaveLength(1);
    const refused = await service.send(gemini.url, {
      ...body,
      generationConfig: { maxOutputTokens: 10, temperature: 9 },
    });
    expect(refused).toMatchObject({ ok: false, status: 400, transient: false });
  });

  test("a prompt over the model's window is refused in Gemini's words", async () => {
    const tiny = { id: "gemini-tiny", thinks: "level" as const, inputTokenLimit: 50, outputTokenLimit: 100 };
    const { service } = await start({ models: [tiny] });
    const body = gemini.body([{ role: "user", content: "word ".repeat(400) }], {
      model: tiny.id,
      maxTokens: 10,
    });
    const sent = await service.send(gemini.url, body);
    expect(sent).toMatchObject({ ok: false, status: 400, transient: false });
    if (!sent.ok)
      expect(sent.body.error.message).toBe(
        "The input token count exceeds the maximum number of tokens allowed (50).",
      );
  });

  test("refusals: a wrong key, an unknown model, a line without a key, a file over 2 GB", async () => {
    const { service, baseUrl } = await start();
    const wrong = geminiService({ apiKey: "AIzaWRONG-KEY-0000000000000000000000", baseURL: baseUrl });
    const refused = await wrong.preflight("batch").catch((error) => error);
    expect(refused).toBeInstanceOf(UserError);
    expect(refused.toLine()).toMatch(
      /^error: Gemini refused the key while checking the connection \(400 INVALID_ARGUMENT\) — /,
    );
    expect(refused.toLine()).not.toContain("WRONG");
    await service.preflight("batch");

    const ask = await requestFile(["a"]);
    ask.fileId = await service.upload(ask, now());
    const unknown = await service
      .create({ ...ask, model: "gemini-9-nonesuch" }, now())
      .catch((error) => error);
    expect(unknown).toBeInstanceOf(UserError);
    expect(unknown.transient).toBe(false);
    expect(unknown.message).toMatch(
      /not found on Gemini .*404 NOT_FOUND: models\/gemini-9-nonesuch is not found/,
    );
    expect(fake!.batchesCreated).toBe(0);
    // A request file of another model than the job's is refused before anything is uploaded.
    const mixed = await service.upload({ ...ask, model: "gemini-3-pro" }, now()).catch((error) => error);
    expect(mixed.toLine()).toBe(
      "error: requests/c0000-a1.jsonl line 1: a request for gemini-3-flash in a job for gemini-3-pro — the run's request file is damaged",
    );

    // The SDK itself, with a line the service refuses the whole job for.
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl } });
    const path = join(await tempDir(), "bad.jsonl");
    writeFileSync(path, `${JSON.stringify({ request: { contents: [{ parts: [{ text: "x" }] }] } })}\n`);
    const file = await ai.files.upload({ file: path, config: { mimeType: "jsonl", displayName: "bad" } });
    const noKey = await ai.batches
      .create({ model: "gemini-3-flash", src: file.name!, config: { displayName: "bad" } })
      .catch((error) => error);
    expect(noKey.status).toBe(400);
    expect(JSON.parse(noKey.message).error).toMatchObject({
      status: "INVALID_ARGUMENT",
      message: /Line 1 .*no key/,
    });

    const tooBig = await fetch(`${baseUrl}/upload/v1beta/files`, {
      method: "POST",
      headers: {
        "x-goog-api-key": KEY,
        "x-goog-upload-protocol": "resumable",
        "x-goog-upload-command": "start",
        "x-goog-upload-header-content-length": String(2 * 1024 ** 3 + 1),
        "x-goog-upload-header-content-type": "jsonl",
      },
      body: "{}",
    });
    expect(tooBig.status).toBe(400);
    expect((await tooBig.json()).error.status).toBe("INVALID_ARGUMENT");
    const create = async (batch: unknown) => {
      const response = await fetch(`${baseUrl}/v1beta/models/gemini-3-flash:batchGenerateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": KEY, "content-type": "application/json" },
        body: JSON.stringify({ batch }),
      });
      return { status: response.status, error: (await response.json()).error };
    };
    const inputConfig = { fileName: ask.fileId };
    expect(await create({ inputConfig })).toMatchObject({
      status: 400,
      error: { message: /display_name is required/ },
    });
    expect(await create({ displayName: "x", inputConfig, tags: {} })).toMatchObject({
      status: 400,
      error: { status: "INVALID_ARGUMENT", message: /Unknown name "tags"/ },
    });
    const noCredentials = await fetch(`${baseUrl}/v1beta/batches`);
    expect(noCredentials.status).toBe(403);
    expect((await noCredentials.json()).error.status).toBe("PERMISSION_DENIED");
  });

  test("inline requests are answered in the job, keyed by their metadata", async () => {
    const { baseUrl } = await start({ fast: true });
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl } });
    const job = await ai.batches.create({
      model: "gemini-3-flash",
      src: [
        { contents: [{ role: "user", parts: [{ text: "[Call]" }] }], metadata: { key: "k1" } },
        { contents: "[Call]", config: { temperature: 5 }, metadata: { key: "k2" } },
      ],
      config: { displayName: "inline" },
    });
    const ended = await ai.batches.get({ name: job.name! });
    expect(ended.state).toBe("JOB_STATE_SUCCEEDED");
    const [answered, refused] = ended.dest!.inlinedResponses!;
    expect(answered!.metadata).toEqual({ key: "k1" });
    expect(answered!.response?.text).toMatch(/^\[Call\]\n/);
    expect(refused!.error).toMatchObject({ code: 3 });
  });

  test("the registry makes it for vendor gemini, and gemini's endpoint encodes its requests", () => {
    const service = makeService("gemini", { apiKey: KEY, baseURL: "http://127.0.0.1:9" });
    expect(service.vendor).toBe("gemini");
    expect(service.traits).toMatchObject({
      carries: "file",
      mixesModels: false,
      findsBy: "metadata",
      liveCounts: false,
    });
    expect(VENDOR_ENDPOINTS.gemini(undefined)).toBe(gemini);
  });

  test("many jobs are looked at in one listing, a few one by one", async () => {
    const { service } = await start({ pollsPerPhase: 1_000 });
    const ids: string[] = [];
    for (const chunk of [0, 1, 2, 3, 4]) {
      const ask = { ...(await requestFile(["a"])), name: `synthai-run1-c000${chunk}-a1.jsonl` };
      ask.fileId = await service.upload(ask, now());
      ids.push((await service.create(ask, now())).id);
    }
    const gets = () => fake!.requests.filter((r) => /\/batches\/[^/:]+$/.test(r.path)).length;
    const looked = await service.look(ids, now());
    expect([...looked.keys()].sort()).toEqual([...ids].sort());
    expect(gets()).toBe(0);
    await service.look(ids.slice(0, 2), now());
    expect(gets()).toBe(2);
  });

  test("cancel stops a running job; one the service no longer has is undefined", async () => {
    const { service } = await start({ pollsPerPhase: 1_000 });
    const ask = await requestFile(["a"]);
    ask.fileId = await service.upload(ask, now());
    const created = await service.create(ask, now());
    expect(await service.cancel(created.id)).toMatchObject({
      status: "cancelled",
      said: "JOB_STATE_CANCELLED",
    });
    expect(await service.cancel("batches/nonesuch")).toBeUndefined();
    expect((await service.look(["batches/nonesuch"], now())).size).toBe(0);
  });

  test("gc deletes synthai's uploads no running job uses, and keeps a running job's", async () => {
    const { service } = await start({ pollsPerPhase: 1_000 });
    const running = await requestFile(["a"]);
    running.fileId = await service.upload(running, now());
    await service.create(running, now());
    const orphan = { ...(await requestFile(["b"])), name: "synthai-run1-c0001-a1.jsonl" };
    orphan.fileId = await service.upload(orphan, now());
    const lines: string[] = [];
    expect(await service.gc(true, (line) => lines.push(line))).toEqual([orphan.fileId]);
    expect(fake!.files.size).toBe(2);
    expect(await service.gc(false, (line) => lines.push(line))).toEqual([orphan.fileId]);
    expect([...fake!.files.values()].map((f) => f.resource.name)).toEqual([running.fileId]);
    expect(lines.at(-1)).toBe("1 orphaned synthai file(s) deleted");
  });

  test("the models it offers, and one it does not", async () => {
    const { service } = await start();
    expect((await service.models()).map((m) => m.id)).toContain("gemini-3-flash");
    expect(await service.model("gemini/gemini-3-flash")).toEqual({ id: "gemini-3-flash" });
    expect(await service.model("gemini-9-nonesuch")).toBeUndefined();
  });

  test("a key comes from GEMINI_API_KEY, and none at all is one line before anything is sent", async () => {
    const saved = { GOOGLE_API_KEY: process.env.GOOGLE_API_KEY, GEMINI_API_KEY: process.env.GEMINI_API_KEY };
    try {
      delete process.env.GOOGLE_API_KEY;
      delete process.env.GEMINI_API_KEY;
      let missing: any;
      try {
        geminiService({ baseURL: "http://127.0.0.1:9" });
      } catch (error) {
        missing = error;
      }
      expect(missing).toBeInstanceOf(UserError);
      expect(missing.toLine()).toBe(
        "error: no Gemini API key — set GOOGLE_API_KEY or GEMINI_API_KEY (the first wins when both are set)",
      );
      const { baseUrl } = await start();
      process.env.GEMINI_API_KEY = KEY;
      await geminiService({ baseURL: baseUrl }).preflight("sync");
      expect(fake!.requests.at(-1)?.path).toMatch(/\/models$/);
    } finally {
      for (const [name, value] of Object.entries(saved))
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });
});

describe("synthai fake --vendor gemini", () => {
  test("serves the Gemini API the service runs a batch through, with the key it was given", async () => {
    const child = spawn(process.execPath, [
      ENTRY,
      "fake",
      "--vendor",
      "gemini",
      "--port",
      "0",
      "--fast",
      "--key",
      KEY,
    ]);
    try {
      const baseUrl = await new Promise<string>((resolve) =>
        child.stdout.once("data", (d) => resolve(String(d).trim())),
      );
      const service = geminiService({ apiKey: KEY, baseURL: baseUrl });
      const ask = await requestFile(["a", "b"]);
      ask.fileId = await service.upload(ask, now());
      const created = await service.create(ask, now());
      const ended = (await service.look([created.id], created.createdAt)).get(created.id)!;
      expect(ended.status).toBe("completed");
      const dir = await tempDir();
      const written = await service.results(ended, {
        output: join(dir, "o.jsonl"),
        errors: join(dir, "e.jsonl"),
      });
      expect(written.output?.lines).toBe(2);
      const refused = await (
        await geminiService({ apiKey: "other", baseURL: baseUrl })
      )
        .preflight("batch")
        .catch((e) => e);
      expect(refused.message).toMatch(/refused the key/);
    } finally {
      child.kill("SIGTERM");
    }
  });
});

describe("a result file that comes down damaged", () => {
  test.each([
    ["cut mid-file (the connection closed)", { cutDownloads: 1 }],
    ["short (a well-formed file without its last line)", { shortDownloads: 1 }],
  ])("%s is fetched again, and the results are whole", async (_, fault) => {
    const { service } = await start({ fast: true, ...fault });
    const ask = await requestFile(["a", "b", "c"]);
    ask.fileId = await service.upload(ask, now());
    const created = await service.create(ask, now());
    const ended = (await service.look([created.id], created.createdAt)).get(created.id)!;
    const dir = await tempDir();
    const to = { output: join(dir, "o.jsonl"), errors: join(dir, "e.jsonl") };
    const written = await service.results(ended, to);
    expect(written.output?.lines).toBe(3);
    expect((await readJsonlFile(to.output)).map((l) => l.custom_id)).toEqual(["a", "b", "c"]);
    const downloads = fake!.requests.filter((r) => r.path.endsWith(":download"));
    expect(downloads).toHaveLength(2);
  });
});
