// synthai as a package: `npm pack`, installed into a fresh project, runs there as `npx synthai`
// and as `import … from "synthai"`, on every Node the PATH offers (the machine's 20, npm's 24).
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { PARAMS, ROOT, readCsv, tempDir, useFake } from "./helpers.ts";
import { nodesOnPath } from "./nodes.ts";

const run = promisify(execFile);
const server = useFake();

/** A user's program importing the installed package by name; plain JavaScript, so Node 20 runs it. */
const PROGRAM = `import { readFileSync } from "node:fs";
import { generate, openRun, UserError } from "synthai";
const [baseURL, params] = process.argv.slice(2);
const run = await generate({ samples: 4, params, baseURL, apiKey: "test-key", pollIntervalSeconds: 0.02, temperature: 0.5 });
const rows = [];
for await (const row of (await openRun(run.id)).rows()) rows.push(row);
const request = JSON.parse(readFileSync(run.dir + "/requests/c0000-a1.jsonl", "utf8").split("\\n")[0]);
console.log(JSON.stringify({ valid: run.summary.valid, rows: rows.length, isError: new UserError("x") instanceof Error, temperature: request.body.temperature }));
`;

let project: string;

beforeAll(async () => {
  // Packed from a copy, so that the clone's package.json, which packing rewrites for a moment,
  // stays as it is for the tests running beside this one.
  const source = await tempDir();
  for (const entry of [
    "bin",
    "src",
    "scripts",
    "package.json",
    "params.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "README.md",
  ])
    await cp(join(ROOT, entry), join(source, entry), { recursive: true });
  await symlink(join(ROOT, "node_modules"), join(source, "node_modules"));
  const packs = await tempDir();
  await run("npm", ["pack", "--pack-destination", packs], { cwd: source });
  const [tarball] = (await readdir(packs)).filter((name) => name.endsWith(".tgz"));
  project = await tempDir();
  await writeFile(join(project, "package.json"), '{ "name": "a-users-project", "private": true }\n');
  await writeFile(join(project, "program.mjs"), PROGRAM);
  // Dependencies come from npm's cache, filled by the clone's own `npm install`.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(packs, tarball!)], {
    cwd: project,
  });
}, 180_000);

describe("npm pack, then npm install in another project", () => {
  test("the tarball holds compiled JavaScript and the launcher, not the clone's tests", async () => {
    const installed = join(project, "node_modules", "synthai");
    const names = await readdir(installed);
    expect(names.sort()).toEqual(expect.arrayContaining(["bin", "dist", "package.json", "README.md"]));
    expect(names).not.toContain("test");
    expect(names).not.toContain("src");
    const manifest = (await import(join(installed, "package.json"), { with: { type: "json" } })).default;
    expect(manifest.exports["."].default).toBe("./dist/index.js");
    // Every module the package loads later (a command, the fake, the pipeline) is found by its .js name.
    const compiled = (await readdir(join(installed, "dist"), { recursive: true })).filter((f) =>
      f.endsWith(".js"),
    );
    expect(compiled.length).toBeGreaterThan(50);
    for (const file of compiled)
      expect(await readFile(join(installed, "dist", file), "utf8"), file).not.toMatch(
        /import\(["']\.{1,2}\/[^"']+\.ts["']\)/,
      );
  });

  test('npx synthai and import from "synthai" work on each Node of the PATH', async () => {
    const url = await server.start({ seed: 5 });
    const nodes = nodesOnPath();
    for (const [nodeVersion, node] of nodes) {
      const env = {
        ...process.env,
        PATH: `${dirname(node)}${delimiter}${process.env.PATH}`,
        OPENAI_API_KEY: "test-key",
      };
      const version = await run("npx", ["synthai", "--version"], { cwd: project, env });
      expect(version.stdout.trim(), nodeVersion).toBe("0.1.0");

      const cwd = await tempDir();
      const cli = await run(
        join(project, "node_modules", ".bin", "synthai"),
        ["-n", "3", "-j", PARAMS, "--base-url", url, "--poll-interval", "0.02", "--yes", "-p", "out.csv"],
        { cwd, env },
      );
      expect(cli.stderr, nodeVersion).toMatch(/done: 3 of 3 samples/);
      expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(3);
      // status and --help run inside the launcher's own Node (the compiled JavaScript needs no other).
      const synthai = join(project, "node_modules", ".bin", "synthai");
      expect((await run(synthai, ["status"], { cwd, env })).stdout, nodeVersion).toMatch(/gpt-6-luna\s+3\/3/);
      expect((await run(synthai, ["--help"], { cwd, env })).stdout, nodeVersion).toMatch(
        /COMMANDS[\s\S]*status/,
      );

      // A newcomer's first hour: the default job in a fresh folder, then a dataset of their own.
      const fresh = await mkdtemp(join(project, "fresh-"));
      const first = await run("npx", ["synthai", "-n", "5", "--poll-interval", "0.02"], {
        cwd: fresh,
        env: { ...env, OPENAI_BASE_URL: url },
      });
      expect(first.stderr, nodeVersion).toMatch(/no params\.json here: the built-in dataset's own is used/);
      expect(first.stderr, nodeVersion).toMatch(/done: 5 of 5 samples/);
      expect(await readCsv(join(fresh, "dataset.csv"))).toHaveLength(5);
      const init = await run("npx", ["synthai", "init", "mine"], { cwd: fresh, env });
      const next = /^next: (.+)$/m.exec(init.stdout)![1]!;
      // Node 20 cannot strip types: the spec it gets is JavaScript.
      expect(next, nodeVersion).toContain(
        nodeVersion.startsWith("v20.") ? "mine/dataset.mjs" : "mine/dataset.ts",
      );
      const preview = await run("sh", ["-c", next], { cwd: fresh, env });
      expect(preview.stdout, nodeVersion).toMatch(/^── sample 1 \(seed 1\)$/m);

      const program = await run(node, [join(project, "program.mjs"), url, PARAMS], { cwd, env });
      expect(JSON.parse(program.stdout), nodeVersion).toEqual({
        valid: 4,
        rows: 4,
        isError: true,
        temperature: 0.5,
      });
    }
  }, 120_000);
});
