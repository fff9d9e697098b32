// `--dedup near` at export, in memory that grows only by 4 bytes a shared key: the in-memory finder
// (dedup.ts) held every kept sample's signature, band keys, digest and id, 660 MB at 1,000,000.
// Here they go to files in the run folder's dedup/ (removed afterwards), in three steps:
// 1. spill: one pass over the samples (their files read as bytes, dedup-lines.ts) writes each one's MinHash
//    signature, id, band keys and 64-bit exact hash, the keys into partitions by band and low bits;
// 2. group: each partition alone finds the keys that two samples or more share, numbers each
//    such key as a group, and writes every member (sample and slot, group) to the file of its block of samples;
// 3. decide: the blocks, in sample order, decide as the in-memory finder does, with one number per
//    group in memory (its first kept sample): a sample repeats the first kept sample of its exact
//    group, else the first of its bands' groups, in band order, whose signature agrees enough.
// The export then reads the samples a second time and leaves out those decided duplicates.
import { closeSync, existsSync, fstatSync, mkdirSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { openFresh, openToRead } from "../io/disk.ts";
import { TextWriter } from "../io/jsonl.ts";
import {
  agreement,
  asWords,
  SIGNATURE_WORDS,
  missesAllowed,
  bandKey,
  exactHash,
  PERMUTATIONS,
  rowsPerBand,
  signatureBytes,
  signatureOf,
  valuesOf,
  type Candidate,
  type Duplicate,
} from "./dedup.ts";
import { eachSignedSample, type ChunkPlace } from "./dedup-lines.ts";

/**
 * How the spilled keys are cut: records per partition (of the keys), samples per block (of the
 * decisions), and how many of the first samples' signatures stay in memory.
 */
export interface SpillLayout {
  recordsPerPartition: number;
  blockSamples: number;
  residentSamples: number;
}

/** 2^18 keys a partition: its table and records take about 16 MB at a time. */
const LAYOUT: SpillLayout = { recordsPerPartition: 2 ** 18, blockSamples: 2 ** 14, residentSamples: 2 ** 18 };
/** A block file's record: the sample's place in its block times the slots, plus its slot (0 the exact digest, 1 + band), then the group. */
const MEMBER = 2;
const GOLDEN = 0x9e3779b1;

/** The duplicates found, handed out as the export meets each sample again, in the same order. */
export interface SpilledDuplicates {
  find(sample: Candidate): Duplicate | undefined;
  /** Removes the spill folder. */
  close(): void;
}

/**
 * Finds the exact and near duplicates among the samples `each` hands on (in export order), with the
 * same result as dedup.ts's `duplicateFinder("near", threshold)` given them one by one, in bounded
 * memory. `expected`: about how many samples come, to size the partitions.
 */
export async function spilledNearDuplicates(
  dir: string,
  each: (add: (sample: Candidate) => void) => Promise<void>,
  options: {
    threshold: number;
    expected: number;
    layout?: Partial<SpillLayout>;
    /** The samples files `each` reads, and the run's chunks: read as bytes where they are in order. */
    files?: { paths: readonly string[]; chunks: readonly ChunkPlace[] };
  },
): Promise<SpilledDuplicates> {
  const layout = { ...LAYOUT, ...options.layout };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const rows = rowsPerBand(options.threshold);
    const bands = PERMUTATIONS / rows;
    const partitions = partitionsFor(options.expected, bands, layout);
    const spill = await spilled(each, options.files, () => new Spill(dir, partitions, rows));
    // Each step's typed arrays are freed before the next one's (and the export's) are made.
    globalThis.gc?.();
    const blocks = new BlockFiles(dir, layout.blockSamples, bands + 1);
    const perBand = spill.bandFiles.length / bands;
    let groups = 0;
    for (let p = 0; p < spill.bandFiles.length; p++)
      groups = groupPartition(join(dir, `bands-${p}`), 1, 1 + Math.floor(p / perBand), blocks, groups);
    for (let p = 0; p < spill.exactFiles.length; p++)
      groups = groupPartition(join(dir, `exact-${p}`), 2, 0, blocks, groups);
    blocks.close();
    scratch.clear();
    globalThis.gc?.();
    decide(dir, { samples: spill.samples, rows, threshold: options.threshold, groups, layout });
    return decisionsReader(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    scratch.clear();
    globalThis.gc?.();
  }
}

/**
 * Step 1 from the samples files' bytes (dedup-lines.ts), else, where they are not in the order the
 * export reads them or not as synthai writes them, from the samples `each` hands on, read as the
 * export reads them (which says what is wrong with a file).
 */
async function spilled(
  each: (add: (sample: Candidate) => void) => Promise<void>,
  files: { paths: readonly string[]; chunks: readonly ChunkPlace[] } | undefined,
  spill: () => Spill,
): Promise<Spill> {
  if (files) {
    const fromBytes = spill();
    try {
      eachSignedSample(files.paths, files.chunks, (id, signature, digest) =>
        fromBytes.addSigned(id, signature, digest),
      );
      fromBytes.close();
      return fromBytes;
    } catch {
      fromBytes.close();
    }
  }
  const fromSamples = spill();
  await each((sample) => fromSamples.add(sample));
  fromSamples.close();
  return fromSamples;
}

/**
 * Partitions of the band keys and of the digests, each about `recordsPerPartition` records: the
 * band keys' are a power of two for each band, so that a partition's file tells its band.
 */
function partitionsFor(
  expected: number,
  bands: number,
  layout: SpillLayout,
): { bands: number; exact: number } {
  const count = (records: number) =>
    2 ** Math.min(10, Math.max(0, Math.ceil(Math.log2(records / layout.recordsPerPartition))));
  return { bands: bands * Math.min(64, count(expected)), exact: count(expected) };
}

/** 32-bit words appended to a file through a buffer. */
class WordFile {
  private readonly fd: number;
  private readonly words: Uint32Array;
  private used = 0;

  constructor(path: string, bufferWords = 16_384) {
    this.fd = openFresh(path);
    this.words = new Uint32Array(bufferWords);
  }

  push(word: number): void {
    if (this.used === this.words.length) this.flush();
    this.words[this.used++] = word;
  }

  pushAll(words: Uint32Array | Uint8Array): void {
    if (words instanceof Uint8Array)
      words = new Uint32Array(words.buffer, words.byteOffset, words.length / 4);
    for (let i = 0; i < words.length; i++) this.push(words[i]!);
  }

  private flush(): void {
    const bytes = new Uint8Array(this.words.buffer, 0, this.used * 4);
    for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at, bytes.length - at);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/**
 * Typed arrays reused from partition to partition and block to block, grown as needed: made anew
 * each time, the dead ones waited outside V8's heap for a collection (70 MB more at 1,000,000).
 */
const scratch = new Map<string, Uint32Array>();

function reused(name: string, length: number): Uint32Array {
  let array = scratch.get(name);
  if (!array || array.length < length) scratch.set(name, (array = new Uint32Array(length)));
  return array.subarray(0, length);
}

function reusedInt32(name: string, length: number): Int32Array {
  const words = reused(name, length);
  return new Int32Array(words.buffer, words.byteOffset, length);
}

/** A whole file of 32-bit words, read into the scratch array `name`. */
function readWords(path: string, name: string): Uint32Array {
  const fd = openToRead(path);
  try {
    const words = reused(name, fstatSync(fd).size / 4);
    readAt(fd, words, 0);
    return words;
  } finally {
    closeSync(fd);
  }
}

/** Fills `into` from the file at byte `position`. */
function readAt(fd: number, into: Uint32Array | Uint8Array, position: number): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  for (let at = 0; at < bytes.length;) {
    const read = readSync(fd, bytes, at, bytes.length - at, position + at);
    if (read === 0) throw new Error(`dedup spill: a file ends early at ${position + at}`);
    at += read;
  }
}

/** Step 1: each sample's signature, id, band keys and digest, to files. */
class Spill {
  samples = 0;
  readonly bandFiles: WordFile[];
  readonly exactFiles: WordFile[];
  private readonly signatures: WordFile;
  private readonly ids: TextWriter;
  private readonly idStarts: WordFile;
  private readonly signature = new Uint32Array(PERMUTATIONS);
  private readonly bytes = new Uint8Array(PERMUTATIONS);
  private readonly digest = new Uint32Array(2);
  private readonly rows: number;

  constructor(dir: string, partitions: { bands: number; exact: number }, rows: number) {
    this.rows = rows;
    // Many partitions write a little each: small buffers keep them all under a few MB.
    const words = (count: number) => Math.max(1024, 2 ** 18 / count);
    this.bandFiles = Array.from(
      { length: partitions.bands },
      (_, p) => new WordFile(join(dir, `bands-${p}`), words(partitions.bands)),
    );
    this.exactFiles = Array.from(
      { length: partitions.exact },
      (_, p) => new WordFile(join(dir, `exact-${p}`), words(partitions.exact)),
    );
    this.signatures = new WordFile(join(dir, "signatures"));
    this.ids = new TextWriter(join(dir, "ids"));
    this.idStarts = new WordFile(join(dir, "id-starts"));
  }

  add(sample: Candidate): void {
    const values = valuesOf(sample);
    signatureOf(values, this.signature);
    exactHash(values, this.digest);
    this.addSigned(sample.custom_id, this.signature, this.digest);
  }

  /** The next sample, by its id, signature and exact hash. */
  addSigned(id: string, signature: Uint32Array, digest: Uint32Array): void {
    const at = this.samples++;
    const { rows } = this;
    signatureBytes(signature, this.bytes);
    this.signatures.pushAll(this.bytes);
    const perBand = this.bandFiles.length / (PERMUTATIONS / rows);
    for (let band = 0; band < PERMUTATIONS / rows; band++) {
      const key = bandKey(signature, band, rows);
      const file = this.bandFiles[band * perBand + (key & (perBand - 1))]!;
      file.push(key);
      file.push(at);
    }
    const file = this.exactFiles[digest[0]! & (this.exactFiles.length - 1)]!;
    file.push(digest[0]!);
    file.push(digest[1]!);
    file.push(at);
    // Where the id starts, as two words: a run's ids may pass 4 GB.
    this.idStarts.push(this.ids.bytes % 2 ** 32);
    this.idStarts.push(Math.floor(this.ids.bytes / 2 ** 32));
    this.ids.write(id);
  }

  close(): void {
    this.idStarts.push(this.ids.bytes % 2 ** 32);
    this.idStarts.push(Math.floor(this.ids.bytes / 2 ** 32));
    for (const file of [...this.bandFiles, ...this.exactFiles, this.signatures, this.idStarts]) file.close();
    this.ids.close();
  }
}

/** Step 2's output: the members of shared keys, a file per block of samples, opened as needed. */
class BlockFiles {
  private readonly files = new Map<number, WordFile>();
  private lastBlock = -1;
  private lastFile: WordFile | undefined;
  private readonly dir: string;
  private readonly blockSamples: number;
  private readonly slots: number;

  constructor(dir: string, blockSamples: number, slots: number) {
    this.dir = dir;
    this.blockSamples = blockSamples;
    this.slots = slots;
  }

  add(sample: number, slot: number, group: number): void {
    const block = Math.floor(sample / this.blockSamples);
    // A partition's records come in sample order: most go to the block the one before went to.
    let file = block === this.lastBlock ? this.lastFile : this.files.get(block);
    if (!file) this.files.set(block, (file = new WordFile(blockPath(this.dir, block), 1024)));
    [this.lastBlock, this.lastFile] = [block, file];
    file.push((sample - block * this.blockSamples) * this.slots + slot);
    file.push(group);
  }

  close(): void {
    for (const file of this.files.values()) file.close();
  }
}

const blockPath = (dir: string, block: number) => join(dir, `block-${block}`);

/**
 * Step 2 for one partition, whose records are `width` words of key then the sample (each sample
 * once: a partition holds one band's keys, or the digests): a key that two samples or more have is
 * numbered as a group (from `firstGroup`), in the order their second record comes, and each of its
 * records goes to `blocks`. Returns the next group's number.
 */
function groupPartition(path: string, width: number, slot: number, blocks: BlockFiles, firstGroup: number) {
  const words = readWords(path, "records");
  const stride = width + 1;
  const count = words.length / stride;
  const bits = Math.max(4, Math.ceil(Math.log2(count * 2 + 1)));
  const mask = 2 ** bits - 1;
  // An open-addressing table whose slot holds the key, its first sample (-1: free) and its group
  // (-1: none yet) side by side: in separate arrays, and with the key read from the records, each
  // record cost several cache misses, and this step a fifth of the pass at 1,000,000.
  const entry = width + 2;
  const table = reusedInt32("table", (mask + 1) * entry);
  for (let at = width; at < table.length; at += entry) table[at] = -1;
  let next = firstGroup;
  for (let record = 0; record < count; record++) {
    const at = record * stride;
    const sample = words[at + width]!;
    let e = (Math.imul(words[at]!, GOLDEN) >>> (32 - bits)) * entry;
    while (table[e + width]! >= 0 && !sameKey(table, e, words, at, width))
      e = e + entry === table.length ? 0 : e + entry;
    if (table[e + width]! < 0) {
      for (let i = 0; i < width; i++) table[e + i] = words[at + i]!;
      table[e + width] = sample;
      table[e + width + 1] = -1;
      continue;
    }
    if (table[e + width + 1]! < 0) {
      table[e + width + 1] = next++;
      blocks.add(table[e + width]!, slot, table[e + width + 1]!);
    }
    blocks.add(sample, slot, table[e + width + 1]!);
  }
  return next;
}

function sameKey(table: Int32Array, e: number, words: Uint32Array, at: number, width: number): boolean {
  for (let i = 0; i < width; i++) if (table[e + i] !== (words[at + i]! | 0)) return false;
  return true;
}

interface Decide {
  samples: number;
  rows: number;
  threshold: number;
  groups: number;
  layout: SpillLayout;
}

/** A decided duplicate, as written to dedup/decisions: the sample's place and id, and what it repeats. */
interface Decision {
  at: number;
  id: string;
  of: string;
  kind: "exact" | "near";
  similarity: number;
}

/** Step 3: the blocks in sample order; each duplicate found is written to dedup/decisions. */
function decide(dir: string, plan: Decide): void {
  const { blockSamples } = plan.layout;
  const slots = PERMUTATIONS / plan.rows + 1;
  const misses = missesAllowed(plan.threshold);
  const firstKept = new Int32Array(plan.groups).fill(-1);
  const signatures = openToRead(join(dir, "signatures"));
  const ids = idReader(dir);
  const out = new TextWriter(join(dir, "decisions"));
  const block = new Uint8Array(blockSamples * PERMUTATIONS);
  const blockWords = asWords(block);
  const earlier = new EarlierSignatures(signatures, Math.min(plan.samples, plan.layout.residentSamples));
  try {
    for (let start = 0; start < plan.samples; start += blockSamples) {
      const path = blockPath(dir, start / blockSamples);
      // A block no shared key reaches keeps all its samples, and no group needs them.
      if (!existsSync(path)) continue;
      const members = readWords(path, "members");
      // Each sample's group in each slot (-1: none), straight from the records: a sample has one
      // key per band, so no sort is needed, and its groups are read in band order.
      const groupOf = reusedInt32("groupOf", blockSamples * slots).fill(-1);
      for (let m = 0; m < members.length; m += MEMBER) groupOf[members[m]!] = members[m + 1]!;
      const size = Math.min(blockSamples, plan.samples - start);
      readAt(signatures, block.subarray(0, size * PERMUTATIONS), start * PERMUTATIONS);
      earlier.load(members, firstKept);
      // How much sample s agrees with an earlier one, making no object: at 1,000,000 of the bench's
      // it runs 10.7 million times, and the pass took 22 s of CPU instead of 27 s.
      const similarity = (s: number, other: number) =>
        other >= start
          ? agreement(blockWords, s * SIGNATURE_WORDS, blockWords, (other - start) * SIGNATURE_WORDS, misses)
          : earlier.agreement(other, blockWords, s * SIGNATURE_WORDS, misses);
      for (let s = 0; s < size; s++) {
        const found = decideOne(
          groupOf,
          s * slots,
          slots,
          firstKept,
          (other) => similarity(s, other),
          plan.threshold,
        );
        if (found)
          out.write(
            `${JSON.stringify({ at: start + s, id: ids(start + s), of: ids(found.of), kind: found.kind, similarity: found.similarity } satisfies Decision)}\n`,
          );
        else
          for (let slot = s * slots; slot < (s + 1) * slots; slot++) {
            const group = groupOf[slot]!;
            if (group >= 0 && firstKept[group]! < 0) firstKept[group] = start + s;
          }
      }
    }
  } finally {
    closeSync(signatures);
    ids.close();
    out.close();
  }
}

/**
 * The signatures of earlier samples a block compares with. A group's first kept sample never
 * changes once set, so those of the groups the block's samples share are known before it starts:
 * each is read once, in runs of neighbours, instead of once per comparison (the bench's texts,
 * of a dozen words, make ten comparisons a sample, mostly with the same early samples).
 */
class EarlierSignatures {
  private samples: Int32Array = new Int32Array(0);
  private words: Uint32Array = new Uint32Array(0);
  private readonly one = new Uint8Array(PERMUTATIONS);
  private readonly oneWords = asWords(this.one);
  private readonly run = new Uint8Array(RUN * PERMUTATIONS);
  private readonly fd: number;
  /**
   * The first samples' signatures, kept throughout: most comparisons are with early samples (at
   * 1,000,000 of the bench's, 73% of 10.7 million with the first 65,536, 91% with the first 262,144, 16 MB; 32 MB for 524,288 took the peak to 201 MiB).
   */
  private readonly resident: Uint32Array;
  private readonly residents: number;

  constructor(fd: number, residents: number) {
    this.fd = fd;
    this.residents = residents;
    this.resident = new Uint32Array(this.residents * SIGNATURE_WORDS);
    readAt(fd, this.resident, 0);
  }

  /** Reads the signatures of the first kept samples of the groups in `members` (a block's records). */
  load(members: Uint32Array, firstKept: Int32Array): void {
    const wanted = reusedInt32("wanted", members.length / MEMBER);
    let kept = 0;
    // Those in memory already are left out before sorting: at 1,000,000 of the bench's, 91% of them.
    for (let m = 0; m < wanted.length; m++) {
      const sample = firstKept[members[m * MEMBER + 1]!]!;
      if (sample >= this.residents) wanted[kept++] = sample;
    }
    wanted.subarray(0, kept).sort();
    let count = 0;
    for (let m = 0; m < kept && count < EARLIER_SIGNATURES; m++)
      if (count === 0 || wanted[m] !== wanted[count - 1]) wanted[count++] = wanted[m]!;
    this.samples = reusedInt32("earlier", count);
    this.samples.set(wanted.subarray(0, count));
    this.words = reused("earlier signatures", count * SIGNATURE_WORDS);
    const runWords = asWords(this.run);
    for (let first = 0, next = 0; first < count; first = next) {
      const from = this.samples[first]!;
      next++;
      while (
        next < count &&
        this.samples[next]! < from + RUN &&
        this.samples[next]! - this.samples[next - 1]! <= GAP
      )
        next++;
      const span = this.samples[next - 1]! - from + 1;
      readAt(this.fd, this.run.subarray(0, span * PERMUTATIONS), from * PERMUTATIONS);
      for (let k = first; k < next; k++) {
        const at = (this.samples[k]! - from) * SIGNATURE_WORDS;
        this.words.set(runWords.subarray(at, at + SIGNATURE_WORDS), k * SIGNATURE_WORDS);
      }
    }
  }

  /** How much an earlier sample's signature (among those read, else read now) agrees with `signature` at `from`. */
  agreement(sample: number, signature: Uint32Array, from: number, misses: number): number {
    if (sample < this.residents)
      return agreement(signature, from, this.resident, sample * SIGNATURE_WORDS, misses);
    let [low, high] = [0, this.samples.length - 1];
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = this.samples[middle]!;
      if (found === sample) return agreement(signature, from, this.words, middle * SIGNATURE_WORDS, misses);
      if (found < sample) low = middle + 1;
      else high = middle - 1;
    }
    readAt(this.fd, this.one, sample * PERMUTATIONS);
    return agreement(signature, from, this.oneWords, 0, misses);
  }
}

/** Signatures read in one go when each lies this close to the one before, up to 64 KB. */
const GAP = 64;
const RUN = 1024;

/** At most this many earlier signatures a block (8 MB); any more are read one at a time. */
const EARLIER_SIGNATURES = 131_072;

/** The samples one decision compared with so far. */
const compared = new Int32Array(PERMUTATIONS + 1);

function comparedBefore(other: number, count: number): boolean {
  for (let i = 0; i < count; i++) if (compared[i] === other) return true;
  return false;
}

/**
 * One sample, as the in-memory finder decides it: an exact repeat of its digest group's first kept
 * sample; else, band by band, the first kept sample of the band key's group, each compared once,
 * the first whose signature agrees at `threshold` or more. Its group in each slot is in `groupOf`
 * from `at` (-1: none).
 */
function decideOne(
  groupOf: Int32Array,
  at: number,
  slots: number,
  firstKept: Int32Array,
  similarityTo: (other: number) => number,
  threshold: number,
): { of: number; kind: "exact" | "near"; similarity: number } | undefined {
  const exact = groupOf[at]!;
  if (exact >= 0 && firstKept[exact]! >= 0) return { of: firstKept[exact]!, kind: "exact", similarity: 1 };
  let count = 0;
  for (let slot = at + 1; slot < at + slots; slot++) {
    const other = groupOf[slot]! < 0 ? -1 : firstKept[groupOf[slot]!]!;
    if (other < 0 || comparedBefore(other, count)) continue;
    compared[count++] = other;
    const similarity = similarityTo(other);
    if (similarity >= threshold) return { of: other, kind: "near", similarity };
  }
  return undefined;
}

/** The id of the sample at a place, read from dedup/ids through dedup/id-starts. */
function idReader(dir: string) {
  const starts = openToRead(join(dir, "id-starts"));
  const ids = openToRead(join(dir, "ids"));
  const words = new Uint32Array(4);
  const read = (at: number): string => {
    readAt(starts, words, at * 8);
    const from = words[0]! + words[1]! * 2 ** 32;
    const bytes = Buffer.alloc(words[2]! + words[3]! * 2 ** 32 - from);
    for (let done = 0; done < bytes.length;)
      done += readSync(ids, bytes, done, bytes.length - done, from + done);
    return bytes.toString("utf8");
  };
  return Object.assign(read, {
    close: () => {
      closeSync(starts);
      closeSync(ids);
    },
  });
}

/** Step 3's decisions handed out as the export meets the samples again; a sample out of step is a bug. */
function decisionsReader(dir: string): SpilledDuplicates {
  const lines = lineReader(join(dir, "decisions"));
  let next = lines();
  let at = 0;
  return {
    find(sample) {
      const here = at++;
      if (next === undefined || next.at !== here) return undefined;
      const { id, of, kind, similarity } = next;
      if (id !== sample.custom_id)
        throw new Error(
          `dedup: sample ${here} is ${sample.custom_id} on the second pass, ${id} on the first`,
        );
      next = lines();
      return { sample_id: id, sample: sample.sample, duplicate_of: of, kind, similarity };
    },
    close() {
      lines.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The decisions file's records one at a time, read synchronously a buffer at a time. */
function lineReader(path: string) {
  const fd = openToRead(path);
  const buffer = Buffer.alloc(64 * 1024);
  const decoder = new StringDecoder("utf8");
  let waiting: string[] = [];
  let rest = "";
  let ended = false;
  const next = (): Decision | undefined => {
    while (waiting.length === 0 && !ended) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      ended = read === 0;
      const lines = (rest + decoder.write(buffer.subarray(0, read))).split("\n");
      rest = lines.pop()!;
      waiting = lines.reverse();
    }
    const line = waiting.pop();
    return line === undefined ? undefined : (JSON.parse(line) as Decision);
  };
  return Object.assign(next, { close: () => closeSync(fd) });
}
