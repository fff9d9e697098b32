// A run as the pipeline works on it: one object handed down every step, instead of a list of
// its parts (folder, manifest, dataset, service, log) that grows with each step.
import type OpenAI from "openai";
import type { Dataset } from "../dataset/spec.ts";
import type { Log } from "../io/log.ts";
import type { Manifest, RunConfig } from "../run/manifest.ts";
import type { ManifestStore } from "../run/store.ts";

export class RunContext {
  /** The one way the manifest changes. */
  readonly store: ManifestStore;
  /** What each sample is asked and how its answer is read (the spec or prompt file, and its stages). */
  readonly dataset: Dataset;
  readonly log: Log;
  /** The service; absent where nothing is sent (a dry run, an export). */
  readonly #client: OpenAI | undefined;

  constructor(store: ManifestStore, dataset: Dataset, log: Log, client?: OpenAI) {
    this.store = store;
    this.dataset = dataset;
    this.log = log;
    this.#client = client;
  }

  /** The run folder. */
  get dir(): string {
    return this.store.dir;
  }

  get manifest(): Manifest {
    return this.store.manifest;
  }

  /** The run's resolved config: defaults, then what the run was made with, then the flags given since. */
  get config(): RunConfig {
    return this.store.manifest.config;
  }

  /** The service, or undefined where the run sends nothing. */
  get maybeService(): OpenAI | undefined {
    return this.#client;
  }

  /** The service, for a step that cannot go without one. */
  get service(): OpenAI {
    if (!this.#client)
      throw new Error(`run ${this.manifest.id}: a step that calls the service has no client`);
    return this.#client;
  }
}

/** What reading a run's answers needs (no store: a view changes nothing). A RunContext is one. */
export type RunView = Pick<RunContext, "dir" | "manifest" | "config" | "dataset">;

export function runView(dir: string, manifest: Manifest, dataset: Dataset): RunView {
  return { dir, manifest, config: manifest.config, dataset };
}
