// A run's settings, resolved in one place: defaults < the manifest's (stored) < given now. A new
// run has nothing stored; `resume`, `export` and every read of a run folder have its manifest's.
// What comes out is filled: a setting with a default is never absent, so nothing reads one with `??`.
import type { RunConfig, StoredConfig } from "./manifest-schema.ts";

/** Settings a manifest leaves out when they are the default (and older manifests lack), and that default. */
const LEFT_OUT = {
  mode: "batch",
  endpoint: "chat",
  provider: "openai",
  sampling: "random",
  concurrency: 8,
} as const satisfies Partial<RunConfig>;

/** Every run setting's default, the one table (the CLI's DEFAULTS shows them in --help). */
export const RUN_DEFAULTS = {
  ...LEFT_OUT,
  /** Always written since it was added; runs made before it drew in English. */
  locale: "en",
  samples: 10,
  batches: 1,
  maxTokens: 1024,
  maxAttempts: 10,
  pollIntervalSeconds: 30,
  metrics: true,
} as const satisfies Partial<RunConfig>;

/** A setting given now, or stored: each left undefined keeps what is below it. */
export type Given = { [K in keyof StoredConfig]?: StoredConfig[K] | undefined };

/**
 * The run's config: each setting given now, else the manifest's, else its default. Pure: none of
 * its arguments is changed. `stored` and `given` together hold what has no default (model, seed, …).
 */
export function resolve(defaults: typeof RUN_DEFAULTS, stored: Given, given: Given): RunConfig {
  return { ...defaults, ...defined(stored), ...defined(given) } as RunConfig;
}

/** The config as the manifest stores it: a default that older versions left out is left out. */
export function storedConfig(config: RunConfig): StoredConfig {
  const stored: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(LEFT_OUT)) if (stored[key] === value) delete stored[key];
  return stored as StoredConfig;
}

function defined(values: Given): Given {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}
