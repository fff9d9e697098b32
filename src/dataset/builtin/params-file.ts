import { fileURLToPath } from "node:url";

/** The built-in dataset's params.json (the seed's), shipped beside its compiled module in an install. */
export const BUILTIN_PARAMS = fileURLToPath(new URL("./params.json", import.meta.url));
