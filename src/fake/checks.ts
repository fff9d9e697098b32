/**
 * The service's checks of a request body before any model sees it: OpenAI's published schema
 * (openai-schemas.ts, generated from the OpenAPI document) through ajv, refused in the
 * service's own words — 400 invalid_request_error naming the parameter and why.
 */
import { createRequire } from "node:module";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { REQUESTS, SCHEMAS } from "./openai-schemas.ts";
import type { Refusal } from "./models.ts";

export type BodyKind = keyof typeof REQUESTS;

/** The body kind of each endpoint a batch line or a direct request may name. */
export const KIND_OF_URL: Record<string, BodyKind> = {
  "/v1/chat/completions": "chat",
  "/v1/responses": "responses",
  "/v1/embeddings": "embeddings",
};

// Compiled once per process, on first use: every fake and every batch line shares them. A
// valid body stops at nothing; only a refused one is looked at again, for every error it has.
const validators = new Map<string, ValidateFunction>();
const ajvs: Partial<Record<"fast" | "all", Ajv2020>> = {};

function validatorFor(kind: BodyKind, allErrors: boolean): ValidateFunction {
  const key = `${kind}:${allErrors}`;
  let validate = validators.get(key);
  if (!validate) {
    const which = allErrors ? "all" : "fast";
    if (!ajvs[which]) {
      const load = createRequire(import.meta.url)("ajv/dist/2020.js") as { Ajv2020: typeof Ajv2020 };
      // strict off: the document keeps keywords of its own dialect that constrain nothing.
      ajvs[which] = new load.Ajv2020({ strict: false, allErrors, verbose: allErrors });
      ajvs[which].addSchema(SCHEMAS, "openai");
    }
    validate = ajvs[which].getSchema(`openai#/$defs/${REQUESTS[kind]}`)!;
    validators.set(key, validate);
  }
  return validate;
}

/** The refusal the service gives this body, or undefined if the document takes it. */
export function checkBody(kind: BodyKind, body: unknown): Refusal | undefined {
  if (validatorFor(kind, false)(body)) return undefined;
  const detailed = validatorFor(kind, true);
  detailed(body);
  return refusalOf(detailed.errors ?? [], body);
}

/** The body of a request that is not JSON, as the service answers it. */
export const NOT_JSON: Refusal = {
  status: 400,
  error: {
    message:
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
      "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    type: "invalid_request_error",
    param: null,
    code: "invalid_json",
  },
};

/** Keywords by how much they tell: a value of the right type that breaks a bound says more than a type. */
const RANK = ["unevaluatedProperties", "additionalProperties", "enum", "const", "required"];

/**
 * The errors of the union branch the body meant, as the service would report them. A union
 * (anyOf) reports every branch it tried; a branch is not the one meant when the object's tag
 * (role, type) is not its own, when the value is not of its type but another branch's, or
 * when it failed below a value that another branch took in type but refused otherwise.
 */
function meantErrors(errors: ErrorObject[], body: unknown): ErrorObject[] {
  let real = errors.filter(
    (e) => e.keyword !== "anyOf" && !(e.keyword === "type" && e.params.type === "null"),
  );
  real = real.filter((e) => !wrongTag(e, valueAt(body, e.instancePath)));
  const shaped = new Set(real.filter((e) => e.keyword !== "type").map((e) => e.instancePath));
  const under = (e: ErrorObject, keep: (path: string) => boolean) =>
    [...shaped].some((path) => keep(path) && e.instancePath.startsWith(`${path}/`));
  real = real.filter((e) => e.keyword !== "type" || (!shaped.has(e.instancePath) && !under(e, () => true)));
  // A tag refused at a/role while a branch whose tag matched went on to refuse something else in a.
  const tag = (e: ErrorObject) => ["enum", "const"].includes(e.keyword);
  const further = real.filter((e) => !tag(e)).map((e) => e.instancePath);
  return real.filter((e) => {
    if (!tag(e)) return true;
    const parent = e.instancePath.replace(/\/[^/]*$/, "");
    return !further.some(
      (path) =>
        path === parent || (path.startsWith(`${parent}/`) && !`${path}/`.startsWith(`${e.instancePath}/`)),
    );
  });
}

/** An error of an object branch whose tag property (an enum or const) the value does not carry. */
function wrongTag(error: ErrorObject, value: any): boolean {
  const properties = error.parentSchema?.properties;
  if (!properties || !value || typeof value !== "object") return false;
  return Object.entries(properties as Record<string, any>).some(([name, schema]) => {
    const tags = schema?.enum ?? (schema && "const" in schema ? [schema.const] : undefined);
    return Array.isArray(tags) && value[name] !== undefined && !tags.includes(value[name]);
  });
}

/** The service's refusal for the errors ajv found: the one that says most about the branch meant. */
function refusalOf(errors: ErrorObject[], body: unknown): Refusal {
  const meant = meantErrors(errors, body);
  const pool = meant.length ? meant : errors;
  const unknown = pool.find((e) => e.keyword === "unevaluatedProperties" && e.instancePath === "");
  const rank = (e: ErrorObject) => (e.keyword === "type" ? 99 : RANK.indexOf(e.keyword) + 1 || 50);
  const depth = (e: ErrorObject) => e.instancePath.split("/").length;
  const first = unknown ?? [...pool].sort((a, b) => rank(a) - rank(b) || depth(b) - depth(a))[0]!;
  return refusalFor(
    first,
    pool.filter((e) => e.instancePath === first.instancePath),
    body,
  );
}

/** The service's words for one error (`here`: the others at the same place, for the values a union takes). */
function refusalFor(first: ErrorObject, here: ErrorObject[], body: unknown): Refusal {
  const param = paramOf(first.instancePath);
  const value = valueAt(body, first.instancePath);
  const refuse = (message: string, code: string, at = param): Refusal => ({
    status: 400,
    error: { message, type: "invalid_request_error", param: at || null, code },
  });
  const p = first.params as Record<string, any>;
  switch (first.keyword) {
    case "unevaluatedProperties":
    case "additionalProperties": {
      const name = [param, p.unevaluatedProperty ?? p.additionalProperty].filter(Boolean).join(".");
      return refuse(`Unknown parameter: '${name}'.`, "unknown_parameter", name);
    }
    case "required": {
      const name = [param, p.missingProperty].filter(Boolean).join(".");
      return refuse(`Missing required parameter: '${name}'.`, "missing_required_parameter", name);
    }
    case "enum":
    case "const": {
      const allowed = [
        ...new Set(
          here.flatMap((e) => (e.keyword === "enum" ? e.params.allowedValues : [e.params.allowedValue])),
        ),
      ];
      return refuse(
        `Invalid value: '${value}'. Supported values are: ${allowed.map((v) => `'${v}'`).join(", ")}.`,
        "invalid_value",
      );
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const kind = Number.isInteger(value) ? "integer" : "decimal";
      const above = first.keyword.toLowerCase().includes("max");
      return refuse(
        `Invalid '${param}': ${kind} ${above ? "above maximum" : "below minimum"} value. ` +
          `Expected a value ${p.comparison} ${p.limit}, but got ${value} instead.`,
        `${kind}_${above ? "above_max" : "below_min"}_value`,
      );
    }
    case "maxItems":
    case "minItems": {
      const above = first.keyword === "maxItems";
      if (!above && !(value as unknown[]).length)
        return refuse(
          `Invalid '${param}': empty array. Expected an array with minimum length ${p.limit}, but got an empty array instead.`,
          "empty_array",
        );
      return refuse(
        `Invalid '${param}': array too ${above ? "long" : "short"}. Expected an array with ` +
          `${above ? "maximum" : "minimum"} length ${p.limit}, but got an array with length ` +
          `${(value as unknown[]).length} instead.`,
        above ? "array_above_max_length" : "array_below_min_length",
      );
    }
    case "maxLength":
    case "minLength": {
      const above = first.keyword === "maxLength";
      return refuse(
        `Invalid '${param}': string too ${above ? "long" : "short"}. Expected a string with ` +
          `${above ? "maximum" : "minimum"} length ${p.limit}, but got a string with length ` +
          `${String(value).length} instead.`,
        above ? "string_above_max_length" : "string_below_min_length",
      );
    }
    case "type": {
      const wanted = [...new Set(here.filter((e) => e.keyword === "type").flatMap((e) => e.params.type))];
      return refuse(
        `Invalid type for '${param}': expected ${wanted.map(typeName).join(" or ")}, ` +
          `but got ${typeName(typeOf(value))} instead.`,
        "invalid_type",
      );
    }
    default:
      return refuse(`Invalid '${param}': ${first.message}.`, "invalid_value");
  }
}

/** An instance path as the service names a parameter: /messages/0/role → messages[0].role. */
function paramOf(path: string): string {
  return path
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), "");
}

function valueAt(body: unknown, path: string): unknown {
  return path
    .split("/")
    .slice(1)
    .reduce<any>((value, part) => value?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], body);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeName(type: string): string {
  const names: Record<string, string> = {
    number: "a decimal",
    integer: "an integer",
    string: "a string",
    boolean: "a boolean",
    array: "an array",
    object: "an object",
    null: "null",
  };
  return names[type] ?? type;
}
