import { fileURLToPath } from "node:url";

/**
 * The built-in dataset's params.json (the seed's): the clone's top-level file, which the package
 * ships at its root too; from src/dataset/builtin/ or dist/dataset/builtin/ alike, three folders up.
 */
export const BUILTIN_PARAMS = fileURLToPath(new URL("../../../params.json", import.meta.url));
