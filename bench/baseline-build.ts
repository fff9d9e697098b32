// Baseline for the build stage: the same work, the least code (bench/baseline-requests.ts), in
// a plain loop on one thread to one file: no split into files, no manifest, no checks.
import { writeRequests } from "./baseline-requests.ts";

const [samples, out] = [Number(process.argv[2]), process.argv[3]!];
console.log(`${samples} requests, ${await writeRequests(out, samples, 0, samples)} prompt tokens`);
