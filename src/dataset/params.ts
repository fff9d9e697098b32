// params.json: field → parameter → every value it may take, read and checked with every mistake named.
import { readFile } from "node:fs/promises";
import { parse as parseJson, printParseErrorCode, type ParseError, type ParseErrorCode } from "jsonc-parser";
import { UserError } from "../errors.ts";

/** params.json: field → parameter → every value it may take (the seed's shape). */
export type Params = Record<string, Record<string, string[]>>;

/** Reads and checks params.json; every mistake is a UserError naming the spot. */
export async function loadParams(path: string, { optional = false } = {}): Promise<Params> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // With an input file, a missing params.json means no parameters to draw.
    if (code === "ENOENT" && optional) return {};
    if (code === "ENOENT")
      throw new UserError(`params file ${path} does not exist`, "pass the right path with -j/--params");
    throw new UserError(`cannot read params file ${path} (${code})`, "check its permissions");
  }
  return checkParams(text, path);
}

export function checkParams(text: string, path: string): Params {
  const errors: ParseError[] = [];
  // As editors save it: comments allowed (the README says so), and a byte-order mark is not JSON.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const data: unknown = parseJson(text, errors, {
    disallowComments: false,
    allowTrailingComma: false,
    allowEmptyContent: false,
  });
  const first = errors[0];
  if (first) {
    const before = text.slice(0, first.offset);
    const line = before.split("\n").length;
    const column = first.offset - before.lastIndexOf("\n");
    throw new UserError(
      `${path}: invalid JSON at line ${line} column ${column}: ${describeJsonError(first.error)}`,
      "fix the JSON syntax",
    );
  }
  const hint =
    "params.json maps each field to parameters, each a list of " +
    'strings: {"Call": {"Attitude": ["positive", "negative"]}}';
  if (!isObject(data) || Object.keys(data).length === 0)
    throw new UserError(`${path}: expected an object of fields`, hint);
  const seen = new Map<string, string>();
  for (const [field, parameters] of Object.entries(data)) {
    if (!isObject(parameters))
      throw new UserError(`${path}: field "${field}" must be an object of parameters`, hint);
    for (const [name, values] of Object.entries(parameters)) {
      if (!Array.isArray(values) || values.length === 0)
        throw new UserError(`${path}: ${field}.${name} has no values`, "give it a non-empty list of strings");
      const bad = values.findIndex((v) => typeof v !== "string" || v.trim() === "");
      if (bad >= 0)
        throw new UserError(
          `${path}: ${field}.${name}[${bad}] is not a non-empty string`,
          "every value must be a string",
        );
      const other = seen.get(name);
      if (other)
        throw new UserError(
          `${path}: parameter "${name}" is in both ${other} and ${field}`,
          "rename one: parameter names become CSV columns",
        );
      seen.set(name, field);
    }
  }
  return data as Params;
}

function describeJsonError(code: ParseErrorCode): string {
  const text = printParseErrorCode(code);
  if (text === "PropertyNameExpected" || text === "ValueExpected")
    return `${text === "ValueExpected" ? "a value" : "a property name"} was expected (a trailing comma?)`;
  return text.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
