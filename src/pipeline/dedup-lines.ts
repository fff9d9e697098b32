// --dedup near's own pass over the samples files, read as bytes: each valid sample's id, MinHash
// signature and exact hash, in the order the export hands the samples on. Read as text, each
// line's head and fields parsed and ordered by export.ts's eachValidSample, this pass took 17 s of
// CPU at 1,000,000 samples, more than half of a plain export's.
import { eachNonBlankLineOf, startsWith, wholeNumberAt } from "../io/byte-lines.ts";
import { DAMAGED_HINT } from "../io/jsonl.ts";
import { exactHash, PERMUTATIONS, signatureOf, signatureOfBytes, valuesOf } from "./dedup.ts";

/** Where a chunk's samples lie in the run (its manifest entry). */
export interface ChunkPlace {
  firstSample: number;
  samples: number;
}

/** The samples are not as synthai writes them (a line out of order, not JSON): read them as the export does. */
export class NotInOrder extends Error {}

const FIELDS = Buffer.from(',"fields":{');
/** A read's worth of a samples file. */
const READ_BYTES = 1 << 20;

/**
 * Hands on the valid samples of the samples files at `paths`, as eachValidSample hands them on:
 * within each run of lines of one chunk, the first "ok" line of each sample, by sample number.
 * That is the order of the lines themselves when each run's "ok" lines come by rising sample
 * number, as synthai writes them: anything else throws NotInOrder.
 */
export function eachSignedSample(
  paths: readonly string[],
  chunks: readonly ChunkPlace[],
  use: (id: string, signature: Uint32Array, digest: Uint32Array) => void,
): void {
  const signature = new Uint32Array(PERMUTATIONS);
  const digest = new Uint32Array(2);
  let chunk: number | undefined;
  let last = -1;
  for (const path of paths)
    eachNonBlankLineOf(path, DAMAGED_HINT, READ_BYTES, (bytes, start, end) => {
      const fieldsAt = bytes.indexOf(FIELDS, start);
      const head =
        fieldsAt >= 0 && fieldsAt < end
          ? (synthaiHead(bytes, start, fieldsAt) ?? headOf(bytes, start, fieldsAt))
          : undefined;
      const sample = head ?? JSON.parse(bytes.toString("utf8", start, end));
      if (sample.chunk !== chunk) [chunk, last] = [sample.chunk, -1];
      if (sample.status !== "ok") return;
      const place = chunks[sample.chunk];
      const at = place ? sample.sample - 1 - place.firstSample : NaN;
      if (!(Number.isInteger(at) && at > last && at < place!.samples)) throw new NotInOrder();
      last = at;
      if (!head || !signatureOfBytes(bytes, fieldsAt + FIELDS.length - 1, signature, digest)) {
        const values = valuesOf(head ? JSON.parse(bytes.toString("utf8", start, end)) : sample);
        signatureOf(values, signature);
        exactHash(values, digest);
      }
      use(sample.custom_id, signature, digest);
    });
}

const ID = Buffer.from('{"custom_id":"');
const SAMPLE = Buffer.from(',"sample":');
const CHUNK = Buffer.from(',"chunk":');
const OK = Buffer.from(',"status":"ok"');
const KEYS = ['"custom_id"', '"sample"', '"chunk"', '"fields"'].map((key) => Buffer.from(key));

/**
 * The head of a valid sample's line as synthai writes it (`{"custom_id":"…","sample":1,"chunk":0,`
 * …`,"status":"ok"` before its fields), read without parsing it: JSON.parse of the heads took an
 * eighth of the pass. Undefined for any other (an id with an escape or past ASCII, a key again or
 * escaped between): headOf parses it. What lies between is JSON the export's own reading checks.
 */
function synthaiHead(bytes: Buffer, start: number, fieldsAt: number) {
  if (!startsWith(bytes, start, bytes.length, ID)) return undefined;
  let idEnd = start + ID.length;
  while (
    idEnd < fieldsAt &&
    bytes[idEnd]! >= 32 &&
    bytes[idEnd]! < 127 &&
    bytes[idEnd] !== 34 &&
    bytes[idEnd] !== 92
  )
    idEnd++;
  if (bytes[idEnd] !== 34 || idEnd >= fieldsAt) return undefined;
  let at = idEnd + 1;
  if (!startsWith(bytes, at, bytes.length, SAMPLE)) return undefined;
  const sample = wholeNumberAt(bytes, (at += SAMPLE.length), bytes.length);
  at = sample.end;
  if (!startsWith(bytes, at, bytes.length, CHUNK)) return undefined;
  const chunk = wholeNumberAt(bytes, (at += CHUNK.length), bytes.length);
  if (sample.value < 0 || chunk.value < 0 || !startsWith(bytes, fieldsAt - OK.length, bytes.length, OK))
    return undefined;
  for (let i = chunk.end; i < fieldsAt - OK.length; i++)
    if (bytes[i] === 92 || (bytes[i] === 34 && KEYS.some((key) => startsWith(bytes, i, bytes.length, key))))
      return undefined;
  const custom_id = bytes.toString("latin1", start + ID.length, idEnd);
  return { custom_id, sample: sample.value, chunk: chunk.value, status: "ok" };
}

/** A line's keys before its fields, parsed, where they are an object of their own (none of them `fields`). */
function headOf(bytes: Buffer, start: number, fieldsAt: number) {
  try {
    const head = JSON.parse(`${bytes.toString("utf8", start, fieldsAt)}}`);
    return head?.fields === undefined ? head : undefined;
  } catch {
    return undefined;
  }
}
