// A stage's `keep` and `when`: a condition over a sample's fields, written in a prompt file's
// front matter (`score >= 4 and label != "spam"`). A small language of synthai's own, parsed
// into data and evaluated over data: it never runs code. Grammar:
//   or   := and ("or" and)*          and  := not ("and" not)*
//   not  := "not" not | cmp          cmp  := value (("=="|"!="|">="|"<="|">"|"<") value)?
//   value := number | "text" | 'text' | true | false | name | "(" or ")"
// A name is a field (or parameter, input column, generated value), dotted for a parameter of
// one field (`Call.Attitude`). Comparisons with < > are numeric; == and != compare numbers as
// numbers and anything else as text. A value alone is true unless empty, 0, false or missing.
import { UserError } from "../errors.ts";

export type Condition =
  | { op: "or" | "and"; left: Condition; right: Condition }
  | { op: "not"; of: Condition }
  | { op: "==" | "!=" | ">=" | "<=" | ">" | "<"; left: Condition; right: Condition }
  | { op: "literal"; value: string | number | boolean }
  | { op: "name"; name: string };

const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_][\w.]*))/y;

type Token = { kind: "number" | "text" | "symbol" | "word"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`cannot read "${text.slice(at).trim().slice(0, 20)}"`);
    const [, number, double, single, symbol, word] = match;
    if (number !== undefined) tokens.push({ kind: "number", value: number });
    else if (double !== undefined || single !== undefined)
      tokens.push({ kind: "text", value: (double ?? single)!.replace(/\\(.)/g, "$1") });
    else if (symbol !== undefined) tokens.push({ kind: "symbol", value: symbol });
    else tokens.push({ kind: "word", value: word! });
  }
  return tokens;
}

/** Parses a condition; `where` names it in the one-line error (`judge.md: keep`). */
export function parseCondition(text: string, where: string): Condition {
  const fail = (why: string): never => {
    throw new UserError(
      `${where}: "${text}" is not a condition (${why})`,
      'write e.g. score >= 4, or label != "spam" and score > 2',
    );
  };
  let tokens: Token[] = [];
  try {
    tokens = tokenize(text);
  } catch (error) {
    fail((error as Error).message);
  }
  let at = 0;
  const peek = () => tokens[at];
  const isWord = (word: string) => peek()?.kind === "word" && peek()!.value.toLowerCase() === word;
  const or = (): Condition => {
    let left = and();
    while (isWord("or")) (at++, (left = { op: "or", left, right: and() }));
    return left;
  };
  const and = (): Condition => {
    let left = not();
    while (isWord("and")) (at++, (left = { op: "and", left, right: not() }));
    return left;
  };
  const not = (): Condition => (isWord("not") ? (at++, { op: "not", of: not() }) : compare());
  const compare = (): Condition => {
    const left = value();
    const next = peek();
    if (next?.kind === "symbol" && ["==", "!=", ">=", "<=", ">", "<"].includes(next.value)) {
      at++;
      return { op: next.value as "==", left, right: value() };
    }
    return left;
  };
  const value = (): Condition => {
    const token = tokens[at++];
    if (!token) return fail("it ends too soon");
    if (token.kind === "number") return { op: "literal", value: Number(token.value) };
    if (token.kind === "text") return { op: "literal", value: token.value };
    if (token.kind === "symbol" && token.value === "(") {
      const inner = or();
      if (tokens[at++]?.value !== ")") fail("a ( is not closed");
      return inner;
    }
    if (token.kind === "word") {
      const word = token.value.toLowerCase();
      if (word === "true" || word === "false") return { op: "literal", value: word === "true" };
      if (["and", "or", "not"].includes(word)) fail(`"${token.value}" where a value belongs`);
      return { op: "name", name: token.value };
    }
    return fail(`"${token.value}" where a value belongs`);
  };
  const condition = or();
  if (at < tokens.length) fail(`"${tokens[at]!.value}" is left over`);
  return condition;
}

/** Every name a condition reads, so one that names nothing is said before anything is built. */
export function namesIn(condition: Condition): string[] {
  switch (condition.op) {
    case "name":
      return [condition.name];
    case "literal":
      return [];
    case "not":
      return namesIn(condition.of);
    default:
      return [...namesIn(condition.left), ...namesIn(condition.right)];
  }
}

type Value = string | number | boolean | undefined;

/** Evaluates a condition over a sample's values (fields, parameters, columns), by name. */
export function holds(condition: Condition, lookup: (name: string) => unknown): boolean {
  return truthy(evaluate(condition, lookup));
}

function evaluate(condition: Condition, lookup: (name: string) => unknown): Value {
  switch (condition.op) {
    case "literal":
      return condition.value;
    case "name": {
      const found = lookup(condition.name);
      return found === undefined || found === null ? undefined : (found as Value);
    }
    case "not":
      return !truthy(evaluate(condition.of, lookup));
    case "and":
      return truthy(evaluate(condition.left, lookup)) && truthy(evaluate(condition.right, lookup));
    case "or":
      return truthy(evaluate(condition.left, lookup)) || truthy(evaluate(condition.right, lookup));
    default: {
      const left = evaluate(condition.left, lookup);
      const right = evaluate(condition.right, lookup);
      if (left === undefined || right === undefined) return condition.op === "!=" ? left !== right : false;
      const [a, b] = [asNumber(left), asNumber(right)];
      const numeric = a !== undefined && b !== undefined;
      switch (condition.op) {
        case "==":
          return numeric ? a === b : String(left).trim() === String(right).trim();
        case "!=":
          return numeric ? a !== b : String(left).trim() !== String(right).trim();
        default:
          if (!numeric) return false;
          return condition.op === ">="
            ? a >= b
            : condition.op === "<="
              ? a <= b
              : condition.op === ">"
                ? a > b
                : a < b;
      }
    }
  }
}

function asNumber(value: Value): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return undefined;
  const text = String(value).trim();
  return text !== "" && Number.isFinite(Number(text)) ? Number(text) : undefined;
}

function truthy(value: Value): boolean {
  if (value === undefined || value === false || value === 0) return false;
  if (typeof value === "string") return !["", "0", "false", "no"].includes(value.trim().toLowerCase());
  return true;
}
