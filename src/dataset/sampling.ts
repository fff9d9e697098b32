import { UserError } from "../errors.ts";
import type { Params } from "./params.ts";

/**
 * How parameter values are drawn for sample `index`:
 * - random: each value uniformly, with replacement (the seed's way);
 * - unique: every sample a different combination — a seeded permutation of all combinations;
 * - stratified: every value of a parameter once in each run of as many samples as it has values,
 *   so each value's share is balanced.
 * Each is a pure function of (seed, index), so samples can be drawn in any order, and a top-up
 * continues the same stream.
 */
export type Sampling = "random" | "unique" | "stratified";

export const SAMPLINGS: Sampling[] = ["random", "unique", "stratified"];

/** Largest combination space `unique` permutes exactly. */
const MAX_UNIQUE = 2 ** 32;

export function combinations(params: Params): number {
  let total = 1;
  for (const parameters of Object.values(params))
    for (const values of Object.values(parameters)) total *= values.length;
  return total;
}

export function checkSampling(sampling: Sampling, params: Params, samples: number): void {
  if (sampling !== "unique") return;
  const total = combinations(params);
  if (total > MAX_UNIQUE)
    throw new UserError(
      `--sampling unique permutes at most ${MAX_UNIQUE} combinations; these params have ${total}`,
      "use --sampling random: with so many combinations repeats are rare",
    );
  if (samples > total)
    throw new UserError(
      `only ${total} distinct parameter combinations exist, ${samples} samples were asked`,
      "ask for fewer samples, add values to params.json, or use --sampling random",
    );
}

/** Value indexes (one per parameter, in params.json order) of sample `index`; undefined for random. */
export function chooseIndexes(
  sampling: Sampling,
  params: Params,
  seed: number,
  index: number,
): number[] | undefined {
  const sizes = Object.values(params).flatMap((parameters) =>
    Object.values(parameters).map((values) => values.length),
  );
  if (sampling === "unique") {
    let combination = permute(index, combinations(params), seed);
    return sizes.map((size) => {
      const digit = combination % size;
      combination = Math.floor(combination / size);
      return digit;
    });
  }
  if (sampling === "stratified") {
    return sizes.map((size, parameter) => {
      const block = Math.floor(index / size);
      const order = shuffled(size, hash(seed, parameter, block));
      return order[index % size]!;
    });
  }
  return undefined;
}

/** A seeded bijection of [0, size): a small Feistel network, cycle-walking back into range. */
export function permute(index: number, size: number, seed: number): number {
  let bits = 2;
  while (2 ** bits < size) bits += 2;
  const half = bits / 2;
  const mask = 2 ** half - 1;
  let value = index;
  do {
    let left = Math.floor(value / 2 ** half);
    let right = value & mask;
    for (let round = 0; round < 4; round++) {
      const next = (left ^ (hash(seed, round, right) & mask)) >>> 0;
      left = right;
      right = next;
    }
    value = left * 2 ** half + right;
  } while (value >= size);
  return value;
}

function shuffled(size: number, key: number): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  let state = key;
  for (let i = size - 1; i > 0; i--) {
    state = hash(state, i, 0x9e3779b9);
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** A 32-bit mix of three numbers (murmur-style finaliser). */
function hash(a: number, b: number, c: number): number {
  let h =
    Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) ^
    Math.imul(b + 0x27d4eb2f, 0x1b873593) ^
    Math.imul(c + 0x165667b1, 0xe6546b64);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
