// A stage's `keep` and `when`: a condition over a sample's fields, written in a prompt file's
// front matter (`score >= 4 and label != "spam"`). A small language of synthai's own, parsed
// into data and evaluated over data: it never runs code. Grammar:
//   or   := and ("or" and)*          and  := not ("and" not)*
//   not  := "not" not | cmp          cmp  := value (("=="|"!="|">="|"<="|">"|"<") value)?
//   value := number | "text" | 'text' | true | false | name | `any name` | "(" or ")"
// A name is a field (or parameter, input column, generated value), dotted for a parameter of
// one field (`Call.Attitude`); it may hold `-` and `.` (`Answer_gpt-6-luna`), and any name at
// all goes between backticks (`first name`). A number may be negative (`-2.5`). Comparisons
// with < > are numeric; == and != compare numbers as numbers and anything else as text (a quoted
// value is text: `Code == "007"` does not hold for 7). A value
// alone is true unless empty, 0, false, no or missing.
//
// Parsed by precedence over one flat loop (shunting-yard) into postfix steps, evaluated over a
// stack: no recursion anywhere, so neither a long condition nor a deep one can overflow.
import { UserError } from "../errors.ts";

const COMPARISONS = ["==", "!=", ">=", "<=", ">", "<"] as const;
type Comparison = (typeof COMPARISONS)[number];

/** Text written between quotes: compared as text, never read as a number ("007" is not 7). */
type Quoted = { text: string };

type Step =
  | { op: "literal"; value: Quoted | number | boolean }
  | { op: "name"; name: string }
  /** Whether a field has a value at all, whatever it says (a conversation's previous turn). */
  | { op: "given"; name: string }
  | { op: "not" | "and" | "or" | Comparison };

/** A condition, parsed: its steps in postfix order (`a b ==`). */
export interface Condition {
  readonly steps: readonly Step[];
}

const TOKEN =
  /(-?\d+(?:\.\d+)?)(?![\w.])|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_][\w.-]*)/y;
const SPACE = /\s*/y;

type Token = { kind: "number" | "text" | "name" | "symbol" | "word"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const unescape = (quoted: string) => quoted.replace(/\\(.)/g, "$1");
  for (let at = 0; ;) {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    if (SPACE.lastIndex >= text.length) return tokens;
    TOKEN.lastIndex = SPACE.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`cannot read "${text.slice(SPACE.lastIndex).slice(0, 20)}"`);
    at = TOKEN.lastIndex;
    const [, number, double, single, backticked, symbol, word] = match;
    if (number !== undefined) tokens.push({ kind: "number", value: number });
    else if (double !== undefined || single !== undefined)
      tokens.push({ kind: "text", value: unescape((double ?? single)!) });
    else if (backticked !== undefined) {
      if (!backticked.trim()) throw new Error("`` names nothing");
      tokens.push({ kind: "name", value: unescape(backticked) });
    } else if (symbol !== undefined) tokens.push({ kind: "symbol", value: symbol });
    else tokens.push({ kind: "word", value: word! });
  }
}

/** How tightly each operator binds: comparisons most, then not, and, or. */
const RANK: Record<string, number> = {
  or: 1,
  and: 2,
  not: 3,
  ...Object.fromEntries(COMPARISONS.map((c) => [c, 4])),
};

/** A condition as messages show it: whole when short, its start when long (one may be thousands of terms). */
export function shown(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** Parses a condition; `where` names it in the one-line error (`judge.md: keep`). */
export function parseCondition(text: string, where: string): Condition {
  const fail = (why: string): never => {
    throw new UserError(
      `${where}: "${shown(text)}" is not a condition (${why})`,
      'write e.g. score >= 4, or label != "spam" and score > 2',
    );
  };
  let tokens: Token[] = [];
  try {
    tokens = tokenize(text);
  } catch (error) {
    fail((error as Error).message);
  }
  const steps: Step[] = [];
  const waiting: string[] = []; // operators still missing their right side, and open parentheses
  const emitDownTo = (rank: number) => {
    while (waiting.length && waiting.at(-1) !== "(" && RANK[waiting.at(-1)!]! >= rank)
      steps.push({ op: waiting.pop() as "and" });
  };
  let wantValue = true;
  let open = 0; // parentheses open so far
  for (const token of tokens) {
    const word = token.kind === "word" ? token.value.toLowerCase() : undefined;
    const symbol = token.kind === "symbol" ? token.value : undefined;
    if (wantValue) {
      if (symbol === "(") open++;
      if (word === "not" || symbol === "(") waiting.push(word ?? symbol!);
      else (steps.push(valueOf(token, fail)), (wantValue = false));
    } else if (word === "and" || word === "or" || COMPARISONS.includes(symbol as Comparison)) {
      const op = word ?? symbol!;
      // `a < b < c` means nothing here: a comparison is between two values.
      if (RANK[op] === 4 && RANK[waiting.at(-1) ?? ""] === 4) fail(`"${op}" is left over`);
      emitDownTo(RANK[op]!);
      (waiting.push(op), (wantValue = true));
    } else if (symbol === ")" && open > 0) {
      emitDownTo(0);
      (waiting.pop(), open--);
    } else fail(`"${token.value}" is left over`);
  }
  if (wantValue) fail("it ends too soon");
  emitDownTo(0);
  if (waiting.length) fail("a ( is not closed");
  return { steps };
}

const LOGIC = ["and", "or", "not"];
const KEYWORDS = [...LOGIC, "true", "false"];

function valueOf(token: Token, fail: (why: string) => never): Step {
  if (token.kind === "number") return { op: "literal", value: Number(token.value) };
  if (token.kind === "text") return { op: "literal", value: { text: token.value } };
  if (token.kind === "name") return { op: "name", name: token.value };
  const word = token.value.toLowerCase();
  if (token.kind === "symbol" || LOGIC.includes(word)) return fail(`"${token.value}" where a value belongs`);
  if (word === "true" || word === "false") return { op: "literal", value: word === "true" };
  return { op: "name", name: token.value };
}

/** `condition`, asked only where `name` has a value at all — whatever it says ("No" and "0" included). */
export function whereGiven(name: string, condition?: Condition): Condition {
  const given: Step = { op: "given", name };
  return { steps: condition ? [given, ...condition.steps, { op: "and" }] : [given] };
}

/** Every name a condition reads, so one that names nothing is said before anything is built. */
export function namesIn(condition: Condition): string[] {
  return condition.steps.flatMap((step) => ("name" in step ? [step.name] : []));
}

/**
 * Refuses, before anything is built, a comparison of a field its schema declares text or
 * true/false with a number: it would hold for no sample (or, with !=, for every one). `typeOf`
 * gives a name's declared JSON Schema type; a name without one is text read as a number where it is one.
 */
export function checkTypes(
  condition: Condition,
  where: string,
  typeOf: (name: string) => string | undefined,
): void {
  type Operand = { name?: string; type?: string | undefined; number?: boolean };
  const stack: Operand[] = []; // as the evaluation's, holding what each operand is
  for (const step of condition.steps) {
    if (step.op === "literal") stack.push({ number: typeof step.value === "number" });
    else if (step.op === "name") {
      const type = typeOf(step.name);
      stack.push({ name: step.name, type, number: type === "integer" || type === "number" });
    } else if (step.op === "given") stack.push({});
    else if (step.op === "not") stack.splice(-1, 1, {});
    else {
      const [left, right] = stack.splice(-2, 2, {}) as [Operand, Operand];
      if (step.op === "and" || step.op === "or") continue;
      for (const [field, other] of [
        [left, right],
        [right, left],
      ] as const)
        if ((field.type === "string" || field.type === "boolean") && other.number)
          throw new UserError(
            `${where} compares "${field.name}", a field of type ${field.type} in its schema, with a number`,
            `compare it with ${field.type === "string" ? `text (${written(field.name!)} == "…")` : "true or false"}, ` +
              "or, if it holds a number, declare it type: number in the schema",
          );
    }
  }
}

/** A name as a condition writes it: as it is, or between backticks where it could not be read bare. */
function written(name: string): string {
  const bare = /^[A-Za-z_][\w.-]*$/.test(name) && !KEYWORDS.includes(name.toLowerCase());
  return bare ? name : `\`${name}\``;
}

type Value = string | number | boolean | Quoted | undefined;

/** Evaluates a condition over a sample's values (fields, parameters, columns), by name. */
export function holds(condition: Condition, lookup: (name: string) => unknown): boolean {
  const stack: Value[] = [];
  for (const step of condition.steps) {
    if (step.op === "literal") stack.push(step.value);
    else if (step.op === "name") stack.push((lookup(step.name) ?? undefined) as Value);
    else if (step.op === "given") stack.push((lookup(step.name) ?? undefined) !== undefined);
    else if (step.op === "not") stack.push(!truthy(stack.pop()));
    else {
      const right = stack.pop();
      const left = stack.pop();
      stack.push(
        step.op === "and"
          ? truthy(left) && truthy(right)
          : step.op === "or"
            ? truthy(left) || truthy(right)
            : compare(step.op, left, right),
      );
    }
  }
  return truthy(stack.pop());
}

function compare(op: Comparison, left: Value, right: Value): boolean {
  if (left === undefined || right === undefined) return op === "!=" ? left !== right : false;
  const [a, b] = [asNumber(left), asNumber(right)];
  const numeric = a !== undefined && b !== undefined;
  if (op === "==") return numeric ? a === b : textOf(left) === textOf(right);
  if (op === "!=") return numeric ? a !== b : textOf(left) !== textOf(right);
  if (!numeric) return false;
  return op === ">=" ? a >= b : op === "<=" ? a <= b : op === ">" ? a > b : a < b;
}

/** A number written as people write one (`-2.5`, `+3`, `1e3`, `007`), not JavaScript's `0x10` or `0b11`. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

function asNumber(value: Value): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined; // true/false, and quoted text
  const text = value.trim();
  return DECIMAL.test(text) ? Number(text) : undefined;
}

function textOf(value: Exclude<Value, undefined>): string {
  return typeof value === "object" ? value.text.trim() : String(value).trim();
}

function truthy(value: Value): boolean {
  if (value === undefined || value === false || value === 0) return false;
  if (typeof value === "string" || typeof value === "object")
    return !["", "0", "false", "no"].includes(textOf(value).toLowerCase());
  return true;
}
