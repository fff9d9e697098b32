// The cache's flat tables (src/cache/tables.ts) against a plain Map of the same keys.
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { PlaceTable, ReplicateCounts } from "../src/cache/tables.ts";

const hex = (i: number) => createHash("sha256").update(String(i)).digest("hex");

describe("PlaceTable", () => {
  test("holds every key's latest place through its growth, as a Map does", () => {
    const table = new PlaceTable();
    const reference = new Map<string, { log: number; offset: number; at: number }>();
    for (let i = 0; i < 50_000; i++) {
      const key = hex(i % 40_000); // the last 10,000 are placed again, elsewhere
      const place = { log: i % 7, offset: i * 1_000_003, at: 1_700_000_000 + i };
      table.set(key, place);
      reference.set(key, place);
    }
    expect(table.size).toBe(reference.size);
    for (const [key, place] of reference) expect(table.get(key)).toEqual(place);
    expect(table.get(hex(-1))).toBeUndefined();
  });

  test("keeps offsets past 4 GB whole", () => {
    const table = new PlaceTable();
    table.set(hex(1), { log: 3, offset: 2 ** 40 + 17, at: 5 });
    expect(table.get(hex(1))).toEqual({ log: 3, offset: 2 ** 40 + 17, at: 5 });
  });

  test("keys that share their first 64 bits share a place (the record's whole key tells them apart)", () => {
    const table = new PlaceTable();
    const a = `${"ab".repeat(8)}${"0".repeat(16)}`;
    const b = `${"ab".repeat(8)}${"f".repeat(16)}`;
    table.set(a, { log: 1, offset: 10, at: 100 });
    table.set(b, { log: 2, offset: 20, at: 200 });
    expect(table.size).toBe(1);
    expect(table.get(a)).toEqual({ log: 2, offset: 20, at: 200 });
  });
});

describe("ReplicateCounts", () => {
  test("counts each body as a Map of whole hashes does", () => {
    const counts = new ReplicateCounts();
    const reference = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const hash = hex(i % 3 === 0 ? i % 500 : i); // some bodies many times, most once
      const times = 1 + (i % 2);
      expect(counts.get(hash)).toBe(reference.get(hash) ?? 0);
      counts.add(hash, times);
      reference.set(hash, (reference.get(hash) ?? 0) + times);
    }
    for (const [hash, count] of reference) expect(counts.get(hash)).toBe(count);
    expect(counts.get(hex(-1))).toBe(0);
  });

  test("two bodies whose hashes share their first 32 bits are numbered together", () => {
    const counts = new ReplicateCounts();
    counts.add(`00000000${"1".repeat(56)}`, 1);
    expect(counts.get(`00000000${"2".repeat(56)}`)).toBe(1);
    counts.add(`00000000${"2".repeat(56)}`, 2);
    expect(counts.get(`00000000${"1".repeat(56)}`)).toBe(3);
  });
});
