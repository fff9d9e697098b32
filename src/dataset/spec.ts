import { BUILTIN_PARAMS } from "./builtin/params-file.ts";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Faker } from "@faker-js/faker";
import type { Ajv as AjvClass, ValidateFunction } from "ajv";
import type { Message } from "../api/endpoints/index.ts";
import type { ChatTurn } from "../io/formats/index.ts";
import { UserError } from "../errors.ts";
import { sha256 } from "../io/disk.ts";
import type { InputRecord } from "./inputs/index.ts";

export type { Message, ChatTurn };

/** One sample's draw: a value per parameter, grouped by field, plus generated values. */
export interface Draw {
  params: Record<string, Record<string, string>>;
  values: Record<string, string>;
  /** With --input: the sample's row, every column by name, and those the output keeps. */
  row?: Record<string, string>;
  kept?: Record<string, string>;
  /** In a later stage: every earlier stage's fields, the latest of each name. */
  fields?: Record<string, string>;
}

export type ParseResult = { ok: true; fields: Record<string, string> } | { ok: false; reason: string };

/** A dataset: how to turn a draw into a prompt, and an answer into fields. */
export interface Dataset {
  /** Names of the fields the model writes, in CSV order, e.g. ["Call", "Summary"]. */
  fields: string[];
  /** Values no list can hold (phone numbers, addresses…), drawn from a seeded faker. */
  generate?: (faker: Faker, draw: Draw) => Record<string, string>;
  /** The prompt for one draw: a user message, or a list of messages. */
  prompt: (draw: Draw) => string | Message[];
  /**
   * JSON Schema of an answer: an object with the fields as properties (strict mode: every
   * property required, `additionalProperties: false`). With it, requests ask for structured
   * output and answers are checked against it, instead of `[Field]` sections.
   */
  schema?: Record<string, unknown>;
  /** Answer → fields; defaults to `[Field] text` sections, or JSON when there is a schema. */
  parse?: (answer: string, fields: string[]) => ParseResult;
  /**
   * For `--format chat`: the conversation each sample becomes, its contents Mustache over the
   * output's columns, e.g. `[{ role: "user", content: "{{Question}}" }, { role: "assistant", content: "{{Answer}}" }]`.
   */
  chat?: ChatTurn[];
  /** A condition over the fields (`Score >= 4`): a sample that fails it is dropped after this stage. */
  keep?: string;
  /**
   * Later stages, each one more batch round over the samples still kept, built from their
   * earlier answers (a judge, a rewrite): their prompts see every earlier field.
   */
  stages?: Stage[];
}

/** How a stage runs, beside its dataset. */
export interface StageOptions {
  /** The stage's model, tokens and effort; the run's where not given. */
  model?: string;
  /**
   * Several models, each answering every sample (one batch file per model, at its own price):
   * the stage's fields come once per model, named `<field>_<model>` (a dot in the model's name
   * becomes a dash: `Answer_gpt-6-1-terra`).
   */
  models?: string[];
  maxTokens?: number;
  reasoningEffort?: string;
  keep?: string;
  /** The stage runs only for samples where this holds; the others pass through unchanged. */
  when?: string;
  /**
   * A judge of several models' answers: the field that names the better model (or A, B… by order), for --format
   * preference.
   */
  prefers?: string;
}

/** A stage after the first: a dataset of its own (fields, prompt, schema), and how it runs. */
export interface Stage extends Omit<Dataset, "stages" | "generate">, StageOptions {}

/** A stage of several models (`models: [a, b]`), as each model's own stage knows it. */
export interface ModelGroup {
  models: string[];
  /** The stage's fields as asked, before they are named after each model. */
  fields: string[];
  /** A spec's own parser reads the answers (not `[Field]` sections or the schema's JSON). */
  ownParser: boolean;
}

/**
 * What synthai knows of a dataset or stage it loaded, besides what its author wrote: set as these
 * fields when it is loaded (a spec module leaves them out), read by errors and the stage plan.
 */
export interface Loaded {
  /** How errors name it: `spec s.ts`, `prompt file p.md`, `prompt file p.md (turn 2)`, `… (gpt-x)`. */
  source?: string | undefined;
  /** A prompt file's texts, whose placeholders are checked against a draw before anything is sent. */
  templates?: string[] | undefined;
  /** A later stage: the prompt file it comes from. */
  file?: string | undefined;
  /** A conversation's stage: which turn it asks, of how many. */
  turn?: { number: number; of: number } | undefined;
  /** A stage of several models: which of them it is (0-based), and the stage they make together. */
  among?: { index: number; group: ModelGroup } | undefined;
  /** A conversation's turn after the first: the field of the turn before, asked wherever that one was. */
  follows?: string | undefined;
}

/** A dataset as synthai loaded it: its later stages are planned stages. */
export type LoadedDataset = Omit<Dataset, "stages"> & Loaded & { stages?: PlannedStage[] };
/** One entry of a run's stage plan: its prompt, model, limits, keep/when, its turn or its model among several. */
export type PlannedStage = Stage & Loaded;

/** Every stage of a dataset in order, the first (the dataset itself) included: stage k is entry k - 1. */
export function stagePlan(dataset: LoadedDataset): PlannedStage[] {
  return [dataset, ...(dataset.stages ?? [])];
}

/**
 * What a run's manifest stores as a stage's `turn` (runs made before keep reading it): its place
 * among the stages its prompt file makes, when it makes several — a conversation's turn, or a
 * model's place in its `models:` list.
 */
export function savedTurn(stage: Loaded): number | undefined {
  if (stage.turn) return stage.turn.of > 1 ? stage.turn.number : undefined;
  if (stage.among) return stage.among.group.models.length > 1 ? stage.among.index + 1 : undefined;
  return undefined;
}

export function defineDataset(dataset: Dataset): Dataset {
  return dataset;
}

/** Splits `[Call] … [Summary] …` into fields; every field must be present and non-empty. */
export function parseMarkers(answer: string, fields: string[]): ParseResult {
  const found = [...answer.matchAll(markerPattern(fields))];
  const out: Record<string, string> = {};
  for (const [i, match] of found.entries()) {
    const name = match[1]!;
    if (name in out) return { ok: false, reason: `section [${name}] appears twice` };
    const end = found[i + 1]?.index ?? answer.length;
    // A colon or a dash that stands apart ("[Score]: 4", "[Call] - text") separates; a sign ("-3") is the value's.
    out[name] = answer
      .slice(match.index + match[0].length, end)
      .trim()
      .replace(/^:*\s*(?:-+(?:\s+|$))?/, "");
  }
  for (const field of fields) {
    if (!(field in out)) return { ok: false, reason: `missing section [${field}]` };
    if (!out[field]) return { ok: false, reason: `empty section [${field}]` };
  }
  return { ok: true, fields: out };
}

const validators = new WeakMap<object, ValidateFunction>();

/** Ajv (15 MB) is loaded only by a dataset with a schema; require keeps parsing synchronous. */
function loadAjv(): typeof AjvClass {
  return (createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvClass }).Ajv;
}

/** Reads a structured-output answer: JSON that the dataset's schema accepts, one value per field. */
export function parseStructured(answer: string, dataset: Dataset): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(answer);
  } catch {
    return { ok: false, reason: "answer is not JSON" };
  }
  let validate = validators.get(dataset.schema!);
  if (!validate)
    validators.set(
      dataset.schema!,
      (validate = new (loadAjv())({ strict: false, allErrors: false }).compile(dataset.schema!)),
    );
  if (!validate(data)) {
    const error = validate.errors?.[0];
    return {
      ok: false,
      reason:
        `answer does not match the schema: ${error?.instancePath || "answer"} ${error?.message ?? ""}`.trim(),
    };
  }
  const fields: Record<string, string> = {};
  for (const field of dataset.fields) {
    const value = (data as Record<string, unknown>)[field];
    if (value === undefined || value === null || value === "")
      return { ok: false, reason: `empty field ${field}` };
    fields[field] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ok: true, fields };
}

export function parseAnswer(dataset: Dataset, answer: string): ParseResult {
  if (!dataset.parse && dataset.schema) return parseStructured(answer, dataset);
  const parse = dataset.parse ?? parseMarkers;
  try {
    return parse(answer, dataset.fields);
  } catch (error) {
    return { ok: false, reason: `parser threw: ${(error as Error).message}` };
  }
}

// One pattern per field list, not one per answer.
const markerPatterns = new Map<string, RegExp>();

function markerPattern(fields: string[]): RegExp {
  const key = fields.join("\n");
  let pattern = markerPatterns.get(key);
  if (!pattern)
    markerPatterns.set(key, (pattern = new RegExp(`\\[(${fields.map(escapeRegExp).join("|")})\\]`, "g")));
  return pattern;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Loads a spec module (default export or `dataset`), or the built-in one. */
async function loadDataset(specPath: string | undefined): Promise<LoadedDataset> {
  if (!specPath) return (await import("./builtin/customer-calls.ts")).default;
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(specPath)).href);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(resolve(specPath)))
      throw new UserError(`spec ${specPath} does not exist`, "pass the path of a .ts module with --spec");
    throw new UserError(
      `spec ${specPath} does not load: ${(error as Error).message.split("\n")[0]}`,
      "fix the module so that `node` can import it",
    );
  }
  const dataset = (module.default ?? module.dataset) as Partial<Dataset> | undefined;
  const hint =
    "export default defineDataset({ fields: [...], prompt: (draw) => ..., parse?: (answer, fields) => ... })";
  if (!dataset || typeof dataset !== "object")
    throw new UserError(`spec ${specPath} has no default export`, hint);
  if (
    !Array.isArray(dataset.fields) ||
    dataset.fields.length === 0 ||
    dataset.fields.some((f) => typeof f !== "string" || !f)
  )
    throw new UserError(`spec ${specPath}: "fields" must be a non-empty list of names`, hint);
  if (typeof dataset.prompt !== "function")
    throw new UserError(`spec ${specPath}: "prompt" must be a function`, hint);
  if (
    dataset.schema !== undefined &&
    (typeof dataset.schema !== "object" ||
      dataset.schema === null ||
      (dataset.schema as { type?: unknown }).type !== "object")
  )
    throw new UserError(
      `spec ${specPath}: "schema" must be a JSON Schema of type "object"`,
      "give the fields as its properties",
    );
  if (dataset.chat !== undefined && !Array.isArray(dataset.chat))
    throw new UserError(`spec ${specPath}: "chat" must be a list of turns`, hint);
  for (const key of ["parse", "generate"] as const)
    if (dataset[key] !== undefined && typeof dataset[key] !== "function")
      throw new UserError(`spec ${specPath}: "${key}" must be a function`, hint);
  // Remembered so that a spec that throws later is named in the message.
  return { ...(dataset as Dataset), source: `spec ${specPath}` };
}

/** A run's dataset: its prompt file, its spec module, or the built-in one. */
export async function datasetOf(config: DatasetFiles): Promise<LoadedDataset> {
  if (!config.promptFile) return loadDataset(config.specFile);
  const { loadPromptFile } = await import("./prompt-file.ts");
  const { loadStageFile } = await import("./conversation.ts");
  const { expandModels } = await import("./several-models.ts");
  const dataset = loadPromptFile(config.promptFile);
  const later: PlannedStage[] = [];
  for (const { promptFile, turn } of config.stages ?? []) {
    if (!promptFile) continue;
    // A conversation file is a stage per turn, a `models:` file one per model: a new run takes
    // them all, a run made keeps its own (the manifest's `turn` is its place in the file).
    const turns = loadStageFile(promptFile);
    const all = turns.length ? turns : expandModels(loadPromptFile(promptFile));
    const picked = turn ? [all[turn - 1]!] : all;
    for (const stage of picked) later.push({ ...stage, file: promptFile });
  }
  if (later.length) dataset.stages = later;
  return dataset;
}

/**
 * The files a run reads besides its own folder: a spec module or prompt files (the first, then one
 * per later stage), params.json, an input file; each with its fingerprint as the run was made.
 */
interface DatasetFiles {
  specFile?: string | undefined;
  promptFile?: string | undefined;
  datasetSha256?: string | undefined;
  stages?:
    | { promptFile?: string | undefined; datasetSha256?: string | undefined; turn?: number | undefined }[]
    | undefined;
  paramsFile?: string | undefined;
  paramsSha256?: string | undefined;
  input?: InputRecord | undefined;
}

/** The file a run's dataset comes from, if not the built-in one. */
function datasetFile(config: DatasetFiles) {
  return config.promptFile ?? config.specFile;
}

/** The fingerprints a new run records of the files it reads: spec module or prompt files (stages' included), params. */
export async function fingerprintDataset(config: DatasetFiles): Promise<void> {
  const file = datasetFile(config);
  if (file) config.datasetSha256 = await sha256(file);
  for (const stage of config.stages ?? [])
    if (stage.promptFile) stage.datasetSha256 = await sha256(stage.promptFile);
  // With an input file, params.json may not be there: then there is nothing to fingerprint. The
  // built-in dataset's own changes only with synthai, which a user cannot restore.
  if (config.paramsFile && config.paramsFile !== BUILTIN_PARAMS && existsSync(config.paramsFile))
    config.paramsSha256 = await sha256(config.paramsFile);
}

/**
 * A run's dataset, as long as every file it reads is the one it was made with: an edited spec,
 * prompt file or params.json would silently change what is sent and exported (a run made before
 * one was fingerprinted is not checked for it). `acceptChanged` takes them as they are now and
 * records that in the run's config (the caller's next manifest save keeps it); a changed input
 * file is refused whatever (its rows are read by number). The parameters and the input are
 * checked only by a caller that reads them (`reads`: resume draws, export copies the recipe).
 */
export async function runDataset(
  config: DatasetFiles,
  runId: string,
  { acceptChanged = false, reads = false }: { acceptChanged?: boolean | undefined; reads?: boolean } = {},
): Promise<LoadedDataset> {
  const promptOrSpec = config.promptFile ? "prompt file" : "spec";
  const files = [
    {
      file: datasetFile(config),
      kind: promptOrSpec,
      sum: config.datasetSha256,
      accept: (now: string) => (config.datasetSha256 = now),
    },
    ...(config.stages ?? []).map((stage) => ({
      file: stage.promptFile,
      kind: "prompt file",
      sum: stage.datasetSha256,
      accept: (now: string) => (stage.datasetSha256 = now),
    })),
    ...(reads
      ? [
          {
            file: config.paramsFile,
            kind: "params file",
            sum: config.paramsSha256,
            accept: (now: string) => (config.paramsSha256 = now),
          },
        ]
      : []),
  ];
  const hashes = new Map<string, Promise<string>>(); // a conversation's turns share their file
  for (const { file, kind, sum, accept } of files) {
    if (!file || !sum || !existsSync(file)) continue;
    if (!hashes.has(file)) hashes.set(file, sha256(file));
    const now = await hashes.get(file)!;
    if (now === sum) continue;
    if (!acceptChanged)
      throw new UserError(
        `${kind} ${file} changed since run ${runId} was made`,
        "restore it, or pass --accept-changed-spec to go on with it as it is now (the run records it)",
      );
    accept(now);
  }
  if (reads && config.input) await (await import("./input-file.ts")).checkInputUnchanged(config.input, runId);
  return datasetOf(config);
}

/** How errors name a dataset: its spec module or prompt file. */
export function datasetSource(dataset: PlannedStage): string {
  return dataset.source ?? "the built-in dataset";
}

/** A dataset with some of it changed, still named as the original in errors. */
export function changedDataset(dataset: LoadedDataset, changes: Partial<LoadedDataset>): LoadedDataset {
  return { ...dataset, ...changes };
}
