import { describe, expect, test } from "vitest";
import { progressLine, progressOf } from "../src/pipeline/progress.ts";

const config = { samples: 5000, price: { input: 0.075, output: 0.3 }, model: "gpt-4o-mini" };
const batch = (chunk: number, attempt: number, step: string, extra: object = {}) => ({
  chunk,
  attempt,
  step,
  requests: 2919,
  promptTokens: 0,
  requestsFile: "",
  ...extra,
});

/** A run in its second round: the first answered 4,100 valid, the retries are half done. */
const manifest = {
  id: "run",
  config,
  batches: [
    batch(0, 1, "collected", { collected: { ok: 4100, costUsd: 1.25 } }),
    batch(0, 2, "submitted", {
      status: "in_progress",
      createdAt: 1000,
      expiresAt: 1000 + 86400,
      requestCounts: { total: 900, completed: 400, failed: 50 },
    }),
    batch(1, 2, "pending", { requests: 100 }),
  ],
} as any;

describe("the waiting line", () => {
  test("shows the run as a whole (valid of asked, round, spent, ETA) and fits 80 columns", () => {
    const { line } = progressLine(progressOf(manifest, 1600), 79);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/^waiting: 4100\/5000 valid · round 2 · spent \$1\.2500 · ETA \d+m\d\ds/);
    // 450 of 900 done in 600 s; 450 more, and 100 queued: 550 × 600 / 450 s.
    expect(line).toContain("ETA 12m13s");
  });

  test("with room, it adds the round's requests, the batches, the time elapsed and the next expiry", () => {
    const { line, key } = progressLine(progressOf(manifest, 1600));
    expect(line).toBe(
      "waiting: 4100/5000 valid · round 2 · spent $1.2500 · ETA 12m13s · 450/900 requests (50 failed) · 1 batch(es): 1 in_progress · 10m00s · expires in 23h50m",
    );
    expect(key).toBe("1 in_progress");
  });

  test("no ETA without a rate to estimate from", () => {
    const fresh = {
      ...manifest,
      batches: [batch(0, 1, "submitted", { status: "validating", createdAt: 1000 })],
    };
    expect(progressLine(progressOf(fresh, 1010), 79).line).toBe(
      "waiting: 0/5000 valid · spent $0.0000 · 0/2919 requests · 10s",
    );
  });
});
