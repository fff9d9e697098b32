// The test helpers clean up after themselves.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT, tempDir } from "./helpers.ts";

test("a test file's temp folders are gone once it has run", async () => {
  const tmp = await tempDir();
  const vitest = join(ROOT, "node_modules", "vitest", "vitest.mjs");
  const child = spawn(
    process.execPath,
    [
      vitest,
      "run",
      "--no-cache",
      "--no-fsModuleCache",
      "--root",
      join(ROOT, "test", "fixtures", "temp-dirs"),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const code = await new Promise((resolve) => child.on("close", resolve));
  expect(code, output).toBe(0);
  const made = /made (\S+)/.exec(output)?.[1];
  expect(made, output).toMatch(new RegExp(`^${tmp}/synthai-test-`));
  expect(existsSync(made!)).toBe(false);
  expect((await readdir(tmp)).filter((name) => name.startsWith("synthai-test-"))).toEqual([]);
});
