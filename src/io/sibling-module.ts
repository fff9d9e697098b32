/**
 * The URL of another of synthai's modules, relative to the one asking, with the asker's own
 * extension: `.ts` when run from a clone, `.js` in the installed package's compiled dist/.
 */
export function siblingModule(relativeTs: string, from: string): URL {
  return new URL(from.endsWith(".ts") ? relativeTs : relativeTs.replace(/\.ts$/, ".js"), from);
}
