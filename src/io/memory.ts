// synthai streams, so its live heap stays small, but V8 collects garbage when it sees fit,
// and it counts the buffers of file and network transfers (outside its heap) only loosely.
// These ask it to collect at the moments synthai knows memory has just become garbage. They
// need the `#!` line's --expose-gc; without it (tests run `node src/synthai.ts`) they do
// nothing and V8 frees the memory when it gets to it.
type Collect = (options: { type: "minor" | "major"; execution: "sync"; flavor?: "last-resort" }) => void;
const gc = (globalThis as { gc?: Collect }).gc;

/** Bytes of a transfer between two collections of its young buffers. */
const COLLECT_EVERY_BYTES = 2 << 20;

/**
 * Passes a download's chunks through and, every 2 MB, collects the young ones already passed
 * on. Left alone, 40–60 MB of written chunks pile up during a download before V8 collects them.
 */
export async function* releasingChunks(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let since = 0;
  for await (const chunk of chunks) {
    since += chunk.byteLength;
    if (since >= COLLECT_EVERY_BYTES) {
      since = 0;
      gc?.({ type: "minor", execution: "sync" });
    }
    yield chunk;
  }
}

/**
 * Collects everything and gives the freed pages back to the system at once (a "last resort"
 * collection compacts the heap); left to itself, V8 keeps them for later.
 */
export function returnFreedMemory(): void {
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}
