// A run's config once it exists: what it was made with (the manifest), with what the user gives
// when going on with it (`resume`, `cancel`, the library's resume). One function decides which
// wins — a value given now, else the manifest's — and test/config.test.ts shows it flag by flag.
import { UserError } from "../errors.ts";
import type { RunConfig } from "./manifest.ts";

/** What `resume` and `cancel` may change in a run's config; each left out keeps the manifest's. */
export interface ConfigOverrides {
  budgetUsd?: number;
  pollIntervalSeconds?: number;
  /** `--keep-remote` or `--no-keep-remote`: either way, from now on. */
  keepRemote?: boolean;
  onDone?: string;
  /** --fill: a new limit on draws, for a run that stopped short of its target. */
  maxDraws?: number;
}

/** The config a run goes on with: each override given wins over what the manifest holds. Pure. */
export function withOverrides(config: RunConfig, overrides: ConfigOverrides, runId: string): RunConfig {
  const next: RunConfig = { ...config };
  if (overrides.budgetUsd !== undefined) next.budgetUsd = overrides.budgetUsd;
  if (overrides.pollIntervalSeconds !== undefined) next.pollIntervalSeconds = overrides.pollIntervalSeconds;
  if (overrides.keepRemote !== undefined) {
    if (overrides.keepRemote) next.keepRemote = true;
    else delete next.keepRemote;
  }
  if (overrides.onDone !== undefined) next.onDone = overrides.onDone;
  if (overrides.maxDraws !== undefined) {
    if (!config.fill) throw new UserError(`run ${runId} was not made with --fill`, "leave --max-draws out");
    if (overrides.maxDraws < config.fill.target)
      throw new UserError(
        `--max-draws ${overrides.maxDraws} is below the run's target of ${config.fill.target}`,
        "allow at least as many draws as samples",
      );
    next.fill = { ...config.fill, maxDraws: overrides.maxDraws };
  }
  return next;
}
