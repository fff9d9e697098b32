// `--prompt FILE`: a dataset without code. A text or Markdown file with a short front matter
// (`fields:` to parse, optional `system:`, `schema:` and `chat:` for --format chat) and a body
// with {{placeholders}} for input columns, parameters ({{Attitude}} or {{Call.Attitude}}) and
// generated values, rendered with Mustache (nothing HTML-escaped: prompts are not web pages).
import { readFileSync } from "node:fs";
import matter from "gray-matter";
import { UserError } from "../errors.ts";
import { placeholderNames, renderTemplate as render } from "../io/template.ts";
import type { Message } from "../api/endpoints/index.ts";
import type { ChatTurn, Draw, LoadedDataset, PlannedStage, StageOptions } from "./spec.ts";
import { sameModelTwice } from "./several-models.ts";

/** What a placeholder may name for a draw: input columns, parameters (bare and by field), generated values. */
export function viewOf(draw: Draw): Record<string, unknown> {
  const view: Record<string, unknown> = { ...draw.row };
  for (const chosen of Object.values(draw.params)) Object.assign(view, chosen);
  Object.assign(view, draw.params, draw.values, draw.fields);
  return view;
}

/**
 * Front matter is data, never code: gray-matter would `eval` a `---js` block, so only YAML (js-yaml's
 * safe schema: no `!!js/function`) and JSON are registered, and any other language is refused by name.
 */
const DATA_LANGUAGES = new Set(["yaml", "yml", "json"]);

function refuseCode(path: string, language: string): never {
  throw new UserError(
    `prompt file ${path}: its front matter is marked "${language}", but front matter is read as data only, never run`,
    "open it with a plain --- line and write it as YAML (or ---json for JSON)",
  );
}

function readFrontMatter(path: string, text: string): matter.GrayMatterFile<string> {
  const language = /^\uFEFF?---[ \t]*([^\s-][^\r\n]*)?\r?\n/.exec(text)?.[1]?.trim().toLowerCase();
  if (language && !DATA_LANGUAGES.has(language)) refuseCode(path, language);
  const refuse = () => refuseCode(path, "javascript");
  return matter(text, { engines: { javascript: { parse: refuse }, js: { parse: refuse } } as never });
}

/** A prompt file's front matter (as data) and body; a missing or unparsable one is one line. */
export function readPromptFile(path: string): { data: Record<string, unknown>; body: string } {
  const file = readFile(path);
  return { data: file.data as Record<string, unknown>, body: file.content.trim() };
}

export function loadPromptFile(path: string): LoadedDataset & StageOptions {
  const file = readFile(path);
  if ((file.data as { conversation?: unknown }).conversation !== undefined)
    throw new UserError(
      `prompt file ${path} is a conversation, which talks about samples made before it`,
      "give it as a later --prompt, after the file that writes the samples",
    );
  return datasetFromFile(path, file);
}

function readFile(path: string): matter.GrayMatterFile<string> {
  let file: matter.GrayMatterFile<string>;
  try {
    file = readFrontMatter(path, readFileSync(path, "utf8"));
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UserError(
        `prompt file ${path} does not exist`,
        "pass the path of a .md or .txt file with --prompt",
      );
    throw new UserError(
      `prompt file ${path}: its front matter does not parse (${(error as Error).message.split("\n")[0]})`,
      "write it as YAML between two --- lines",
    );
  }
  checkExpansion(path, file.data);
  return file;
}

/** What front matter may hold once its YAML aliases are expanded: far more than any prompt or schema. */
const MAX_FRONT_MATTER = 1_000_000;

/**
 * A YAML alias (`*a`) stands for its anchor's whole value: a few hundred bytes of nested aliases
 * are billions of values once a schema or prompt is written out (js-yaml cannot turn them off). So
 * the front matter is counted as expanded (one per value, one per character), and refused past a bound.
 */
function checkExpansion(path: string, data: unknown): void {
  let size = 0;
  const stack = [data];
  while (stack.length) {
    const value = stack.pop();
    size += typeof value === "string" ? value.length + 1 : 1;
    if (size > MAX_FRONT_MATTER)
      throw new UserError(
        `prompt file ${path}: its front matter holds over ${MAX_FRONT_MATTER.toLocaleString("en-US")} values and characters once its YAML aliases (*name) are expanded`,
        "write the values out instead of repeating them through aliases",
      );
    if (typeof value === "object" && value !== null)
      for (const child of Object.values(value)) stack.push(child);
  }
}

function datasetFromFile(path: string, file: matter.GrayMatterFile<string>): LoadedDataset & StageOptions {
  const {
    fields: rawFields,
    system,
    schema,
    chat,
    ...stageOptions
  } = file.data as { fields?: unknown; system?: unknown; schema?: unknown; chat?: unknown };
  const fields =
    typeof rawFields === "string"
      ? rawFields
          .split(",")
          .map((f) => f.trim())
          .filter(Boolean)
      : rawFields;
  const hint = "start the file with a front matter such as:\n---\nfields: [Label, Reason]\n---";
  if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== "string" || !f))
    throw new UserError(
      `prompt file ${path}: its front matter needs "fields", the names the model writes`,
      hint.replace(/\n/g, " "),
    );
  if (system !== undefined && typeof system !== "string")
    throw new UserError(`prompt file ${path}: "system" must be text`, "give the system message as a string");
  if (
    schema !== undefined &&
    (typeof schema !== "object" || schema === null || (schema as { type?: unknown }).type !== "object")
  )
    throw new UserError(
      `prompt file ${path}: "schema" must be a JSON Schema of type "object"`,
      "give the fields as its properties",
    );
  const body = file.content.trim();
  if (!body)
    throw new UserError(
      `prompt file ${path} has no prompt after its front matter`,
      "write the prompt, with {{placeholders}}, after the second ---",
    );
  for (const template of [body, system ?? ""]) {
    try {
      placeholderNames(template);
    } catch (error) {
      throw new UserError(`prompt file ${path}: ${(error as Error).message}`, "close every {{ with }}");
    }
  }
  return {
    ...stageOptionsOf(path, stageOptions),
    fields: fields as string[],
    ...(schema ? { schema: schema as Record<string, unknown> } : {}),
    ...(chat !== undefined ? { chat: chat as ChatTurn[] } : {}),
    prompt: (draw) => {
      const view = viewOf(draw);
      const messages: Message[] = system ? [{ role: "system", content: render(system, view) }] : [];
      return [...messages, { role: "user", content: render(body, view) }];
    },
    source: `prompt file ${path}`,
    templates: [body, system ?? ""],
  };
}

/** What a stage's front matter may say besides its dataset: model, max_tokens, reasoning_effort, keep, when. */
export function stageOptionsOf(path: string, data: Record<string, unknown>): StageOptions {
  const options: Record<string, unknown> = {};
  const text = (key: string, as: string) => {
    const value = data[key];
    if (value === undefined) return;
    if (typeof value !== "string" || !value.trim())
      throw new UserError(`prompt file ${path}: "${key}" must be text`, `e.g. ${key}: ${EXAMPLES[key]}`);
    options[as] = value.trim();
  };
  text("model", "model");
  if (data.models !== undefined) {
    const models = data.models;
    if (!Array.isArray(models) || models.length < 2 || models.some((m) => typeof m !== "string" || !m.trim()))
      throw new UserError(
        `prompt file ${path}: "models" must list two models or more`,
        "e.g. models: [gpt-6-luna, gpt-6.1-terra]",
      );
    if (data.model !== undefined)
      throw new UserError(`prompt file ${path}: give "model" or "models", not both`, "leave one out");
    const names = models.map((m: string) => m.trim());
    const twice = sameModelTwice(names);
    if (twice)
      throw new UserError(
        `prompt file ${path}: "models" names ${twice[0] === twice[1] ? `${twice[0]} twice` : `${twice[0]} and ${twice[1]}, whose fields would share a name`}`,
        "name each model once: each is paid for every sample, and compared with itself it makes no preference pair",
      );
    options.models = names;
  }
  text("reasoning_effort", "reasoningEffort");
  text("keep", "keep");
  text("when", "when");
  text("prefers", "prefers");
  if (data.max_tokens !== undefined) {
    if (!Number.isInteger(data.max_tokens) || (data.max_tokens as number) <= 0)
      throw new UserError(
        `prompt file ${path}: "max_tokens" must be a whole number above 0`,
        "e.g. max_tokens: 256",
      );
    options.maxTokens = data.max_tokens;
  }
  const unknown = Object.keys(data).find((key) => !KNOWN.includes(key));
  if (unknown)
    throw new UserError(
      `prompt file ${path}: its front matter has "${unknown}", which synthai does not know`,
      `it takes fields, system, schema, chat, ${KNOWN.join(", ")}`,
    );
  return options as StageOptions;
}

const EXAMPLES: Record<string, string> = {
  model: "gpt-6-luna",
  reasoning_effort: "low",
  keep: "Score >= 4",
  when: "Score < 4",
  prefers: "Better",
};
const KNOWN = ["model", "models", "max_tokens", "reasoning_effort", "keep", "when", "prefers"];

/**
 * Names each placeholder of a prompt file must find in a draw; the first that finds nothing is an error listing
 * what exists.
 */
export function checkPlaceholders(dataset: PlannedStage, draw: Draw): void {
  const { templates } = dataset;
  if (!templates) return;
  const view = viewOf(draw);
  for (const template of templates)
    for (const name of placeholderNames(template)) {
      const found = name
        .split(".")
        .reduce<unknown>(
          (at, key) => (at && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined),
          view,
        );
      if (found === undefined) {
        const names = Object.entries(view).flatMap(([k, v]) =>
          v && typeof v === "object" ? Object.keys(v).map((p) => `${k}.${p}`) : [k],
        );
        throw new UserError(
          `${dataset.source}: {{${name}}} names nothing`,
          `it can use ${[...new Set(names)].join(", ")}`,
        );
      }
    }
}
