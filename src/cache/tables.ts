// The cache's in-memory tables, flat: a key in a JS Map costs about 200 bytes (its string, the
// entry, a boxed place), which took a run of 1,000,000 samples to 700 MB and more. Here a key is
// its first 64 (index) or 32 (replicates) bits in typed arrays, open addressing, linear probing;
// keys are SHA-256 hex, so their first bits are already evenly spread.

/** The first 32 bits of a hex key, never 0 (0 marks an empty slot). */
function bits32(hex: string, from: number): number {
  return Number.parseInt(hex.slice(from, from + 8), 16) >>> 0 || 1;
}

const START = 1 << 12;
/** Grown to twice its slots when this full: probes stay short. */
const FULL = 0.7;

/** Where a key's record is: its log (by number), its offset there, when written or last used (s). */
export interface Place {
  log: number;
  offset: number;
  at: number;
}

/**
 * The cache's index: key → place, by the key's first 64 bits (two keys that share them share a
 * slot; the record read back carries its whole key, so the other one is a miss, never a wrong
 * answer). 20 bytes a slot.
 */
export class PlaceTable {
  #hi = new Uint32Array(START);
  #lo = new Uint32Array(START);
  #log = new Uint32Array(START);
  #offset = new Float64Array(START);
  #at = new Uint32Array(START);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): Place | undefined {
    const slot = this.#find(bits32(key, 0), bits32(key, 8));
    if (!this.#at[slot]) return undefined;
    return { log: this.#log[slot]!, offset: this.#offset[slot]!, at: this.#at[slot]! };
  }

  set(key: string, place: Place): void {
    if (this.#size + 1 > this.#hi.length * FULL) this.#grow();
    const slot = this.#find(bits32(key, 0), bits32(key, 8));
    if (!this.#at[slot]) this.#size++;
    this.#put(slot, bits32(key, 0), bits32(key, 8), place.log, place.offset, Math.max(1, place.at));
  }

  /** The slot of (hi, lo): where it is, or the empty one where it would go. */
  #find(hi: number, lo: number): number {
    const mask = this.#hi.length - 1;
    let slot = lo & mask;
    while (this.#at[slot] && (this.#hi[slot] !== hi || this.#lo[slot] !== lo)) slot = (slot + 1) & mask;
    return slot;
  }

  #put(slot: number, hi: number, lo: number, log: number, offset: number, at: number): void {
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#log[slot] = log;
    this.#offset[slot] = offset;
    this.#at[slot] = at;
  }

  #grow(): void {
    const [hi, lo, log, offset, at] = [this.#hi, this.#lo, this.#log, this.#offset, this.#at];
    const slots = hi.length * 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#log = new Uint32Array(slots);
    this.#offset = new Float64Array(slots);
    this.#at = new Uint32Array(slots);
    for (let i = 0; i < hi.length; i++)
      if (at[i]) this.#put(this.#find(hi[i]!, lo[i]!), hi[i]!, lo[i]!, log[i]!, offset[i]!, at[i]!);
  }
}

/**
 * How many times each request body was counted (a sample's replicate number), by the first 32 bits
 * of the body's hash: 4 bytes a body seen once, plus an entry for each body seen more than once.
 * Two different bodies that share those bits number their replicates together: each still gets an
 * identity of its own (the identity holds the whole hash), and the same draws number them the same
 * way in every run, so a rerun finds them; only a run whose earlier draws differ may miss one.
 */
export class ReplicateCounts {
  #seen = new Uint32Array(START);
  #size = 0;
  readonly #more = new Map<number, number>();

  /** How many times `hash` was counted. */
  get(hash: string): number {
    const fingerprint = bits32(hash, 0);
    const slot = this.#find(fingerprint);
    if (!this.#seen[slot]) return 0;
    return this.#more.get(fingerprint) ?? 1;
  }

  /** Counts `hash` `times` more. */
  add(hash: string, times: number): void {
    if (times <= 0) return;
    const fingerprint = bits32(hash, 0);
    const before = this.get(hash);
    if (!before) {
      if (this.#size + 1 > this.#seen.length * FULL) this.#grow();
      this.#seen[this.#find(fingerprint)] = fingerprint;
      this.#size++;
    }
    if (before + times > 1) this.#more.set(fingerprint, before + times);
  }

  #find(fingerprint: number): number {
    const mask = this.#seen.length - 1;
    let slot = fingerprint & mask;
    while (this.#seen[slot] && this.#seen[slot] !== fingerprint) slot = (slot + 1) & mask;
    return slot;
  }

  #grow(): void {
    const seen = this.#seen;
    this.#seen = new Uint32Array(seen.length * 2);
    for (const fingerprint of seen) if (fingerprint) this.#seen[this.#find(fingerprint)] = fingerprint;
  }
}
