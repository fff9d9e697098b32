// The random stream of a sample's draws. Every sample is drawn from its own seed (run seed,
// sample index), so seeding happens once per sample: faker's Mersenne Twister fills 624 words
// each time, which was most of a build's time. A xoroshiro128+ (pure-rand) is seeded with four.
import type { Randomizer } from "@faker-js/faker";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";

/** The draw stream a run was built with: 1 faker's Mersenne Twister (runs made before 2026-12), 2 xoroshiro128+. */
export type DrawStream = 1 | 2;
export const DRAW_STREAM: DrawStream = 2;

export function xoroshiroRandomizer(): Randomizer {
  let rng = xoroshiro128plusFromState(stateOf([0]));
  return {
    next: () => uniformFloat64(rng),
    seed: (seed) => void (rng = xoroshiro128plusFromState(stateOf(Array.isArray(seed) ? seed : [seed]))),
  };
}

/** 128 bits of state from a list of 32-bit numbers, each mixed in with murmur3's finaliser. */
function stateOf(seed: number[]): number[] {
  const state = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x6a09e667];
  for (const part of seed) for (let i = 0; i < 4; i++) state[i] = mix(state[i]! ^ mix(part + i * 0x61c88647));
  return state;
}

function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}
