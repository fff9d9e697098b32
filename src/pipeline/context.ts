// A run as the pipeline works on it: one object handed down every step, instead of a list of
// its parts (folder, manifest, dataset, services, log) that grows with each step.
import type { BatchService, Vendor } from "../api/batch-service.ts";
import type { Dataset } from "../dataset/spec.ts";
import type { Log } from "../io/log.ts";
import type { Manifest, RunConfig } from "../run/manifest.ts";
import type { ManifestStore } from "../run/store.ts";

/** A run's services by vendor, each made when first asked for (api/services, runServices). */
export type Services = (vendor: Vendor) => BatchService;

export class RunContext {
  /** The one way the manifest changes. */
  readonly store: ManifestStore;
  /** What each sample is asked and how its answer is read (the spec or prompt file, and its stages). */
  readonly dataset: Dataset;
  readonly log: Log;
  /** The services; absent where nothing is sent (a dry run, an export). */
  readonly #services: Services | undefined;

  constructor(store: ManifestStore, dataset: Dataset, log: Log, services?: Services) {
    this.store = store;
    this.dataset = dataset;
    this.log = log;
    this.#services = services;
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

  /** Whether this run may send anything (not a dry run, nor an export without --dedup semantic). */
  get sends(): boolean {
    return this.#services !== undefined;
  }

  /** The service a batch went (or goes) to: its vendor's (absent: OpenAI's); the first stage's when none is given. */
  serviceFor(of?: { vendor?: Vendor | undefined }): BatchService {
    if (!this.#services)
      throw new Error(`run ${this.manifest.id}: a step that calls the service has no services`);
    return this.#services((of ? of.vendor : this.config.vendor) ?? "openai");
  }

  /** The run's main vendor's service, for a step that cannot go without one. */
  get service(): BatchService {
    return this.serviceFor();
  }
}

/** What reading a run's answers needs (no store: a view changes nothing). A RunContext is one. */
export type RunView = Pick<RunContext, "dir" | "manifest" | "config" | "dataset">;

export function runView(dir: string, manifest: Manifest, dataset: Dataset): RunView {
  return { dir, manifest, config: manifest.config, dataset };
}
