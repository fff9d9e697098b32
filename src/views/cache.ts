// `synthai cache`: what the cache of answers holds and what it has saved.
import { formatUsd } from "../api/pricing.ts";
import type { CacheStats } from "../cache/store.ts";
import { formatBytes } from "../io/disk.ts";
import { table } from "./table.ts";

export function formatCacheStats(stats: CacheStats): string {
  return table([
    ["folder", stats.dir],
    ["entries", String(stats.entries)],
    ["size", formatBytes(stats.bytes)],
    ["hits", String(stats.hits)],
    ["saved", formatUsd(stats.savedUsd)],
    ...(stats.old.entries
      ? [
          [
            "left by an earlier version",
            `${stats.old.entries} entries (${formatBytes(stats.old.bytes)}), never read: synthai cache prune removes them`,
          ],
        ]
      : []),
  ]);
}

export function formatPruned(removed: { entries: number; bytes: number }, left: CacheStats): string {
  return (
    `pruned ${removed.entries} entries (${formatBytes(removed.bytes)}); ` +
    `${left.entries} left (${formatBytes(left.bytes)})`
  );
}
