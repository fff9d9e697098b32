// Lists the functions of src/ longer than a limit (80 lines by default), with the TypeScript
// compiler's own parse, so arrow functions, methods and nested functions all count.
// `node scripts/function-sizes.ts [limit]` prints them; test/function-sizes.test.ts holds the limit.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export interface LongFunction {
  /** The file, relative to the repository's root, and the function's name as written. */
  where: string;
  lines: number;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function nameOf(node: ts.Node, file: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(file);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText(file);
  // An anonymous function is named by the function it sits in, which is steadier than its line.
  for (let up = node.parent; up; up = up.parent)
    if (ts.isFunctionLike(up)) return `(anonymous in ${nameOf(up, file)})`;
  return "(anonymous)";
}

/** Every function-like node of one file's text longer than `limit` lines, its span counted whole. */
export function longFunctionsIn(path: string, text: string, limit: number): LongFunction[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limit) found.push({ where: `${path} ${nameOf(node, file)}`, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Every function of the `.ts` files under `dir` longer than `limit` lines. */
export function longFunctions(root: string, dir: string, limit = 80): LongFunction[] {
  return sources(join(root, dir)).flatMap((path) =>
    longFunctionsIn(relative(root, path), readFileSync(path, "utf8"), limit),
  );
}

if (import.meta.main) {
  const limit = Number(process.argv[2] ?? 80);
  for (const f of longFunctions(join(import.meta.dirname, ".."), "src", limit))
    console.log(`${f.lines}\t${f.where}`);
}
