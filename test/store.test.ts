// The manifest store: the one way a run's manifest changes, each change one atomic write.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Manifest } from "../src/run/manifest.ts";
import { RUN_DEFAULTS, resolve } from "../src/run/settings.ts";
import { ManifestStore } from "../src/run/store.ts";
import { loadManifest } from "../src/run/manifest.ts";
import { tempDir } from "./helpers.ts";

/** The manifest on disk, without its seal, its config resolved (a default is not written). */
const onDisk = async (dir: string): Promise<Manifest> => {
  const { seal: _, ...manifest } = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  return { ...manifest, config: resolve(RUN_DEFAULTS, manifest.config, {}) };
};

function newManifest(): Manifest {
  return {
    version: 2,
    id: "20261206-120000-abcd",
    createdAt: "2026-12-06T12:00:00.000Z",
    state: "building",
    config: {
      ...RUN_DEFAULTS,
      model: "gpt-6-luna",
      samples: 10,
      batches: 1,
      output: "out.csv",
      paramsFile: "params.json",
      seed: 1,
      maxTokens: 100,
      price: { input: 0.05, output: 0.25 },
      metrics: true,
      maxAttempts: 3,
      pollIntervalSeconds: 1,
    },
    chunks: [],
    batches: [],
  };
}

describe("the manifest store", () => {
  test("each update is on disk when it returns, and leaves no temp file", async () => {
    const dir = await tempDir();
    const store = ManifestStore.create(dir, newManifest());
    expect((await onDisk(dir)).state).toBe("building");
    const made = store.update((manifest) => {
      manifest.state = "running";
      return manifest.config.samples;
    });
    expect(made).toBe(10);
    expect(await onDisk(dir)).toEqual(store.manifest);
    expect(await readdir(dir)).toEqual(["manifest.json"]);
    // A local update (not waiting for the disk) is as whole and as visible to the next reader.
    store.updateLocal((manifest) => (manifest.state = "exporting"));
    expect((await onDisk(dir)).state).toBe("exporting");
    expect(await readdir(dir)).toEqual(["manifest.json"]);
  });

  test("a manifest as synthai sealed it is read as it is; one edited since is checked against the schema", async () => {
    const dir = await tempDir();
    const store = ManifestStore.create(dir, newManifest());
    const path = join(dir, "manifest.json");
    const written = JSON.parse(await readFile(path, "utf8"));
    expect(written.seal).toMatch(/^[0-9a-f]{32}$/);
    expect(await loadManifest(dir)).toEqual(store.manifest);
    // Edited by hand, but valid: the seal no longer holds, the schema passes it, the seal is left out.
    await writeFile(path, JSON.stringify({ ...written, config: { ...written.config, samples: 11 } }));
    const edited = await loadManifest(dir);
    expect(edited.config.samples).toBe(11);
    expect(edited).not.toHaveProperty("seal");
    // Edited into something the schema refuses: one line naming the field, as before seals.
    await writeFile(path, JSON.stringify({ ...written, state: 42 }));
    await expect(loadManifest(dir)).rejects.toThrow(/manifest\.json is corrupt at state/);
    // A seal copied onto other content does not hold either.
    await writeFile(path, JSON.stringify({ ...written, id: "x", state: "nonsense" }));
    await expect(loadManifest(dir)).rejects.toThrow(/corrupt at state/);
  });

  test("work that fails leaves the manifest as it was, in memory and on disk", async () => {
    const dir = await tempDir();
    const store = ManifestStore.create(dir, newManifest());
    const before = await onDisk(dir);
    await expect(
      store.undoingOnFailure(async () => {
        store.update((manifest) => {
          manifest.state = "exporting";
          manifest.exports = [
            { csvFile: "out.csv", csvOffset: 0, metricsOffset: 0, firstIndex: 0, done: false },
          ];
        });
        throw new Error("disk gone");
      }),
    ).rejects.toThrow("disk gone");
    expect(store.manifest).toEqual(before);
    expect(await onDisk(dir)).toEqual(before);
  });

  test("a locked store reads the manifest under the lock, and a second holder is refused", async () => {
    const dir = await tempDir();
    ManifestStore.create(dir, newManifest());
    await ManifestStore.locked(dir, async (store) => {
      expect(store.manifest.id).toBe("20261206-120000-abcd");
      await expect(ManifestStore.locked(dir, async () => undefined)).rejects.toThrow(
        /being driven by process/,
      );
    });
    await ManifestStore.locked(dir, async (store) => store.update((m) => (m.state = "stopped")));
    expect((await onDisk(dir)).state).toBe("stopped");
  });
});
