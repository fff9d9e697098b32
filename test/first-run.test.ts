// A fresh folder's first run: the built-in dataset brings its own params.json, and says so.
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, expectOneLineError, onlyRunDir, readManifest, runCli, tempDir } from "./helpers.ts";

describe("the default job in a folder without params.json", () => {
  test("runs on the built-in dataset's params.json, said in one line; -j params.json still means that file, and ./params.json is used where there is one", async () => {
    const cwd = await tempDir();
    const result = await runCli(["-n", "2", "--dry-run"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.split("\n")[0]).toBe(
      "no params.json here: the built-in dataset's own is used (customer-service calls); `synthai init <dir>` starts a dataset of yours",
    );
    expect((await readManifest(await onlyRunDir(cwd))).config.paramsFile).toBe(PARAMS);

    const elsewhere = await tempDir();
    const missing = await runCli(["-n", "2", "-j", "params.json", "--dry-run"], { cwd: elsewhere });
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr, /params file .*params\.json does not exist/);
    await copyFile(PARAMS, join(elsewhere, "params.json"));
    const own = await runCli(["-n", "2", "--dry-run"], { cwd: elsewhere });
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).not.toMatch(/built-in dataset's own/);
    expect((await readManifest(await onlyRunDir(elsewhere))).config.paramsFile).toBe(
      join(elsewhere, "params.json"),
    );
  });
});
