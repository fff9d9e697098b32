// `--dedup exact|near` at export: which samples repeat one already written, in sample order,
// so the first of each group stays. Nothing is taken from the run folder: the choice is
// made again at every export, and an export without --dedup brings every row back.
import { createHash } from "node:crypto";

export type DedupMode = "exact" | "near" | "semantic";

export interface Duplicate {
  sample_id: string;
  sample: number;
  /** The sample it repeats, which stays. */
  duplicate_of: string;
  kind: DedupMode;
  /**
   * 1 for an exact duplicate; the estimated Jaccard similarity of word 3-grams for a near one; the
   * cosine of the two texts' embeddings for a semantic one.
   */
  similarity: number;
}

export interface Candidate {
  custom_id: string;
  sample: number;
  fields?: Record<string, string>;
}

/**
 * MinHash by hand, over typed arrays, with one permutation: each word 3-gram is hashed once,
 * and its hash picks one of 64 bins (its low bits) and competes for that bin's least value (its
 * other bits). Bins no shingle fell in borrow from the next one that has a value, offset by the
 * distance (densification by rotation), so two texts agree on a bin about as often as their
 * shingle sets overlap. The minhash package computed 64 permutations of every shingle, each
 * hashed again as a string: at 200,000 samples near de-duplication took 54 s.
 */
export const PERMUTATIONS = 64;
const EMPTY = 0xffffffff;
/** A bin keeps 25 bits of a hash; a borrowed value is moved past them by its distance, so it never equals one. */
const BORROWED = 2 ** 25;

/** murmur3's 32-bit finalizer: spreads every bit of `value` over the result, one to one. */
export function mix(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 units. */
function wordHash(word: string): number {
  let h = 2166136261;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** FNV-1a, then murmur3's finalizer to spread the bits: fast, and even enough for HyperLogLog and MinHash. */
export function hash32(text: string): number {
  return mix(wordHash(text));
}

/** The hashes of the last text's words, reused from text to text. */
let words = new Uint32Array(1024);

/** Appends a word's hash to `words` at `count`; returns the new count. */
function pushWord(hash: number, count: number): number {
  if (count === words.length) {
    const grown = new Uint32Array(count * 2);
    grown.set(words);
    words = grown;
  }
  words[count] = hash >>> 0;
  return count + 1;
}

/** Whether a UTF-16 unit, lower-cased, belongs to a word (ASCII letters, digits and _). */
const inWordChar = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;

/**
 * Hashes a text's words (runs of ASCII letters, digits and _, lower-cased) into `words` from
 * `count` on, in one pass over its characters with no string or array made; returns how many
 * there are then. Splitting on a regular expression and hashing each piece took a third of near
 * de-duplication's time.
 */
function hashWords(text: string, count: number): number {
  let h = 2166136261;
  let inWord = false;
  for (let i = 0; i <= text.length; i++) {
    let c = i < text.length ? text.charCodeAt(i) : 32;
    if (c >= 65 && c <= 90) c += 32;
    if (inWordChar(c)) {
      h = Math.imul(h ^ c, 16777619);
      inWord = true;
    } else if (inWord) {
      count = pushWord(h, count);
      h = 2166136261;
      inWord = false;
    }
  }
  return count;
}

/**
 * Writes the signature of the texts (a sample's values, as if joined by spaces, without the
 * string) into `into`: each word 3-gram's hash (two texts that share most of them say nearly the
 * same thing) competes for its bin. A text of fewer than three words is its own single shingle.
 */
export function signatureOf(texts: readonly string[], into: Uint32Array): void {
  let count = 0;
  for (const text of texts) count = hashWords(text, count);
  into.fill(EMPTY);
  const filled = count < 3 ? addGram(into, hash32(texts.join(" ").toLowerCase().trim())) : 0;
  signatureOfWords(count, into, filled);
}

/** A shingle's hash competes in its bin (its low bits) with its other bits; returns the bin. */
function addGram(into: Uint32Array, gram: number): number {
  const bin = gram & (PERMUTATIONS - 1);
  const value = gram >>> 7;
  if (value < into[bin]!) into[bin] = value;
  return bin;
}

/**
 * The 3-grams of the first `count` of `words` into `into`, then its empty bins filled; `filled`
 * is the last bin a shingle went to, where none does.
 */
function signatureOfWords(count: number, into: Uint32Array, filled: number): void {
  for (let i = 0; i + 2 < count; i++)
    filled = addGram(
      into,
      mix(Math.imul(words[i]!, 0x9e3779b1) ^ Math.imul(words[i + 1]!, 0x85ebca77) ^ words[i + 2]!),
    );
  // Each empty bin takes its right neighbour's value (circularly) plus one step: walking leftwards
  // from a filled bin, every neighbour is settled before the bin that borrows from it.
  for (let step = 1; step < PERMUTATIONS; step++) {
    const bin = (filled - step + PERMUTATIONS) % PERMUTATIONS;
    if (into[bin] === EMPTY) into[bin] = into[(bin + 1) % PERMUTATIONS]! + BORROWED;
  }
}

/** The text a sample is compared by: its fields' values, in order. */
export function textOf(sample: Candidate): string {
  return valuesOf(sample).join(" ");
}

export function valuesOf(sample: Candidate): string[] {
  return Object.values(sample.fields ?? {});
}

/** The SHA-1 of a sample's fields' values: two samples with the same one are exact repeats. */
export function exactDigest(sample: Candidate): Buffer {
  return createHash("sha1")
    .update(JSON.stringify(Object.values(sample.fields ?? {})))
    .digest();
}

/**
 * 64 bits of a sample's values, for the spilled exact groups (dedup-spill.ts): two 32-bit hashes
 * of every character, each value's length mixed in after it. SHA-1 of their JSON took 8% of
 * --dedup near's own pass at 100,000 (CPU profile), this 2.5%; two samples that differ share the
 * 64 bits once in 2^64 pairs.
 */
export function exactHash(values: readonly string[], into: Uint32Array): void {
  let a = 2166136261;
  let b = 0x9747b28c;
  for (const value of values) {
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      a = Math.imul(a ^ c, 16777619);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a = mix(a ^ value.length);
    b = mix(b + value.length + 1);
  }
  into[0] = a >>> 0;
  into[1] = (b ^ values.length) >>> 0;
}

/**
 * A sample's signature and exactHash read from its samples line's bytes, `bytes[from]` the `{` of
 * its fields object (`{"Call":"…","Summary":"…"}`), without decoding or parsing it: the same as
 * signatureOf and exactHash give for the parsed values. Reading the samples as text and parsing
 * them took most of --dedup near's own pass. False for anything else (a value that is not a
 * string, a key that is a number, which Object.values puts first, a space, bytes that are not
 * UTF-8, fewer than three words): the caller parses the line.
 */
export function signatureOfBytes(
  bytes: Uint8Array,
  from: number,
  into: Uint32Array,
  digest: Uint32Array,
): boolean {
  const scan = { at: from + 1, count: 0, a: 2166136261, b: 0x9747b28c, values: 0 };
  if (bytes[from] !== 123 || bytes[scan.at] === 125) return false;
  for (;;) {
    if (bytes[scan.at] !== 34 || isDigit(bytes[scan.at + 1]!)) return false;
    scan.at = afterKey(bytes, scan.at + 1);
    if (scan.at < 0 || bytes[scan.at] !== 58 || bytes[scan.at + 1] !== 34) return false;
    scan.at += 2;
    if (!scanValue(bytes, scan)) return false;
    const next = bytes[scan.at++];
    if (next === 125) break;
    if (next !== 44) return false;
  }
  if (scan.count < 3) return false;
  into.fill(EMPTY);
  signatureOfWords(scan.count, into, 0);
  digest[0] = scan.a >>> 0;
  digest[1] = (scan.b ^ scan.values) >>> 0;
  return true;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Past the closing quote of a key whose first byte is at `at`, or -1. */
function afterKey(bytes: Uint8Array, at: number): number {
  for (; at < bytes.length; at++) {
    const c = bytes[at]!;
    if (c === 34) return at + 1;
    if (c < 32) return -1;
    if (c === 92) at++;
  }
  return -1;
}

interface Scan {
  at: number;
  count: number;
  a: number;
  b: number;
  values: number;
}

/**
 * One string value from `scan.at` (after its opening quote) to past its closing quote: its words
 * into `words`, its UTF-16 units into exactHash's two hashes, as hashWords and exactHash read it.
 */
function scanValue(bytes: Uint8Array, scan: Scan): boolean {
  let { at, count, a, b } = scan;
  let h = 2166136261;
  let inWord = false;
  let length = 0;
  for (;;) {
    let c = at < bytes.length ? bytes[at++]! : -1;
    if (c === 34) break;
    if (c < 32 || c === 92 || c >= 128) {
      // The line's end or a control character (JSON escapes them: not as synthai writes), an escape, UTF-8.
      [c, at] = c === 92 ? unescaped(bytes, at) : c < 32 ? [-1, at] : utf8(bytes, at - 1);
      if (c < 0) return false;
      if (c > 0xffff) {
        // Past the first plane: two units (surrogates), neither part of a word.
        const high = 0xd800 + ((c - 0x10000) >> 10);
        a = Math.imul(a ^ high, 16777619);
        b = Math.imul(b ^ high, 0x5bd1e995);
        b ^= b >>> 15;
        length++;
        c = 0xdc00 + ((c - 0x10000) & 0x3ff);
      }
    }
    a = Math.imul(a ^ c, 16777619);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
    length++;
    const lower = c >= 65 && c <= 90 ? c + 32 : c;
    if (inWordChar(lower)) {
      h = Math.imul(h ^ lower, 16777619);
      inWord = true;
    } else if (inWord) {
      count = pushWord(h, count);
      h = 2166136261;
      inWord = false;
    }
  }
  if (inWord) count = pushWord(h, count);
  scan.at = at;
  scan.count = count;
  scan.a = mix(a ^ length);
  scan.b = mix(b + length + 1);
  scan.values++;
  return true;
}

/** The unit a JSON escape stands for, the backslash just before `at`, and where it ends; -1 for none. */
function unescaped(bytes: Uint8Array, at: number): [number, number] {
  const e = bytes[at]!;
  const simple = ESCAPES.indexOf(e);
  if (simple >= 0) return [ESCAPED[simple]!, at + 1];
  if (e !== 117 || at + 5 > bytes.length) return [-1, at];
  let unit = 0;
  for (let i = at + 1; i < at + 5; i++) {
    const d = bytes[i]!;
    const digit = isDigit(d) ? d - 48 : (d | 32) >= 97 && (d | 32) <= 102 ? (d | 32) - 87 : -1;
    if (digit < 0) return [-1, at];
    unit = unit * 16 + digit;
  }
  return [unit, at + 5];
}

/** `" \ / b f n r t` after a backslash, and what each stands for. */
const ESCAPES = [34, 92, 47, 98, 102, 110, 114, 116];
const ESCAPED = [34, 92, 47, 8, 12, 10, 13, 9];

/** The character (code point) whose UTF-8 starts at `at`, and where it ends; -1 for bytes that are not UTF-8. */
function utf8(bytes: Uint8Array, at: number): [number, number] {
  const lead = bytes[at]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  if (lead < 0xc2 || lead > 0xf4 || at + size > bytes.length) return [-1, at];
  let c = lead & (0x7f >> size);
  for (let i = at + 1; i < at + size; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) return [-1, at];
    c = (c << 6) | (bytes[i]! & 0x3f);
  }
  // Too long a form, a surrogate or past U+10FFFF is not UTF-8 (the decoder makes U+FFFD of it).
  const least = [0, 0, 0x80, 0x800, 0x10000][size]!;
  if (c < least || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) return [-1, at];
  return [c, at + size];
}

/** The similarity from which a text counts as a near repeat, unless --dedup-threshold says otherwise. */
export const NEAR_SIMILARITY = 0.8;

/**
 * A finder that, given samples in order, names each that repeats an earlier one. Exact: the
 * same parsed fields. Near (which finds exact ones too): MinHash signatures of the fields'
 * word 3-grams, banded so that only likely pairs are compared, then kept when the estimated
 * similarity reaches `threshold`. Near holds a 256-byte signature and 16 band entries per
 * kept sample.
 */
export function duplicateFinder(
  mode: DedupMode,
  threshold = NEAR_SIMILARITY,
  /** With --dedup semantic: the finder by embeddings (pipeline/semantic.ts), asked after the exact check. */
  semantic?: (sample: Candidate) => Duplicate | undefined,
): (sample: Candidate) => Duplicate | undefined {
  const seen = new Map<string, string>();
  const near = mode === "near" ? nearIndex(threshold) : undefined;
  return (sample) => {
    const key = exactDigest(sample).toString("base64");
    const same = seen.get(key);
    if (same !== undefined)
      return {
        sample_id: sample.custom_id,
        sample: sample.sample,
        duplicate_of: same,
        kind: "exact",
        similarity: 1,
      };
    const similar = semantic?.(sample);
    if (similar) return similar;
    const found = near?.(sample.custom_id, valuesOf(sample));
    if (found)
      return {
        sample_id: sample.custom_id,
        sample: sample.sample,
        duplicate_of: found.id,
        kind: "near",
        similarity: found.similarity,
      };
    seen.set(key, sample.custom_id);
    return undefined;
  };
}

/** Rows per LSH band: the most (fewest false candidates) whose band threshold stays below the one asked. */
export function rowsPerBand(threshold: number): number {
  for (const rows of [16, 8, 4, 2])
    if (Math.pow(rows / PERMUTATIONS, 1 / rows) <= threshold - 0.05) return rows;
  return 1;
}

function nearIndex(threshold: number) {
  const rows = rowsPerBand(threshold);
  const bandCount = PERMUTATIONS / rows;
  // Every band's key → the first kept sample with it, in one table of typed arrays.
  const firstWith = new BandTable();
  const signature = new Uint32Array(PERMUTATIONS);
  const bytes = new Uint8Array(PERMUTATIONS);
  const keys = new Uint32Array(bandCount);
  // Signatures in blocks of 4,096 samples: a single array doubled as it grew held both copies at once.
  const blocks: Uint32Array[] = [];
  const words = asWords(bytes);
  const ids: string[] = [];
  const misses = missesAllowed(threshold);
  return (id: string, texts: readonly string[]): { id: string; similarity: number } | undefined => {
    signatureOf(texts, signature);
    signatureBytes(signature, bytes);
    for (let band = 0; band < bandCount; band++) keys[band] = bandKey(signature, band, rows);
    const compared = new Set<number>();
    for (const key of keys) {
      const other = firstWith.get(key);
      if (other < 0 || compared.has(other)) continue;
      compared.add(other);
      const similarity = agreement(words, 0, blocks[other >>> 12]!, (other & 4095) * SIGNATURE_WORDS, misses);
      if (similarity >= threshold) return { id: ids[other]!, similarity };
    }
    const at = ids.length;
    ids.push(id);
    if ((at & 4095) === 0) blocks.push(new Uint32Array(4096 * SIGNATURE_WORDS));
    blocks[at >>> 12]!.set(words, (at & 4095) * SIGNATURE_WORDS);
    for (const key of keys) firstWith.add(key, at);
    return undefined;
  };
}

/**
 * Band key → sample, open addressing over two typed arrays: 16 Maps of 200,000 numbers each
 * took most of near de-duplication's time and 100 MB. A key that collides with another band's
 * only makes a false candidate, which the signatures' agreement then turns down.
 */
export class BandTable {
  #keys = new Uint32Array(1 << 20);
  #samples = new Int32Array(1 << 20).fill(-1);
  #size = 0;

  /** The sample first seen with `key`, or -1. */
  get(key: number): number {
    const mask = this.#keys.length - 1;
    for (let slot = key & mask; ; slot = (slot + 1) & mask) {
      const sample = this.#samples[slot]!;
      if (sample < 0 || this.#keys[slot] === key) return sample;
    }
  }

  /** Records `sample` under `key`, unless an earlier one has it. */
  add(key: number, sample: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const mask = this.#keys.length - 1;
    for (let slot = key & mask; ; slot = (slot + 1) & mask) {
      if (this.#samples[slot]! < 0) {
        this.#keys[slot] = key;
        this.#samples[slot] = sample;
        this.#size++;
        return;
      }
      if (this.#keys[slot] === key) return;
    }
  }

  #grow(): void {
    const [keys, samples] = [this.#keys, this.#samples];
    this.#keys = new Uint32Array(keys.length * 2);
    this.#samples = new Int32Array(keys.length * 2).fill(-1);
    this.#size = 0;
    for (let slot = 0; slot < keys.length; slot++)
      if (samples[slot]! >= 0) this.add(keys[slot]!, samples[slot]!);
  }
}

/** A band's rows hashed, with the band's number, into one well-mixed key (its low bits pick a slot). */
export function bandKey(signature: Uint32Array, band: number, rows: number): number {
  let h = Math.imul(band + 1, 0x9e3779b9);
  for (let i = band * rows; i < (band + 1) * rows; i++) h = Math.imul(h ^ signature[i]!, 16777619);
  return mix(h);
}

/**
 * A signature as compared and kept: one byte of each bin's value (its top byte once multiplied by
 * an odd constant, so that a borrowed value differs from its neighbour's). Two texts agree on a
 * bin as before, or by chance once in 256 bins (a similarity 0.004 too high at most): kept signatures take a
 * quarter of the memory and disk, and --dedup near keeps those of its first 262,144 samples in
 * 16 MB instead of reading them again for every block (with 524,288 kept, its own pass at
 * 1,000,000 took 27 s of CPU instead of 34 s).
 */
export function signatureBytes(signature: Uint32Array, into: Uint8Array): void {
  for (let i = 0; i < PERMUTATIONS; i++) into[i] = Math.imul(signature[i]!, 0x9e3779b1) >>> 24;
}

/** 32-bit words a signature takes (one byte a bin), as agreement reads them. */
export const SIGNATURE_WORDS = PERMUTATIONS / 4;

/** Signatures' bytes seen as words, for agreement (their offset a multiple of 4). */
export function asWords(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
}

/**
 * The share of bins on which the signatures at words `a[aFrom]` and `b[bFrom]` agree, or 0 once
 * they differ on more than `misses` (missesAllowed): nearly every candidate the band keys bring
 * is turned down, and most are known to be after a quarter of the bins. Four bins a word: a
 * comparison took a fifth of --dedup near's own pass at 1,000,000 bin by bin.
 */
export function agreement(
  a: Uint32Array,
  aFrom: number,
  b: Uint32Array,
  bFrom: number,
  misses = PERMUTATIONS,
): number {
  let missed = 0;
  for (let i = 0; i < SIGNATURE_WORDS; i++) {
    let x = a[aFrom + i]! ^ b[bFrom + i]!;
    if (x === 0) continue;
    // Each byte's bits folded into its lowest one, then the bytes that differ counted.
    x = (x | (x >>> 4)) & 0x0f0f0f0f;
    x = (x | (x >>> 2)) & 0x03030303;
    x = (x | (x >>> 1)) & 0x01010101;
    missed += Math.imul(x, 0x01010101) >>> 24;
    if (missed > misses) return 0;
  }
  return (PERMUTATIONS - missed) / PERMUTATIONS;
}

/** The most bins on which two signatures may differ and still agree at `threshold` (above 0). */
export function missesAllowed(threshold: number): number {
  let missed = 0;
  while (missed < PERMUTATIONS && (PERMUTATIONS - missed - 1) / PERMUTATIONS >= threshold) missed++;
  return missed;
}
