// The output formats' names, apart from the formats: flags and the manifest's schema list them
// without loading every writer (and Mustache) for `--help` and `status`.
export const FORMAT_NAMES = ["csv", "jsonl", "parquet", "chat", "preference", "openai-preference"] as const;

export type FormatName = (typeof FORMAT_NAMES)[number];
