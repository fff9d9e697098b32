// The output formats' names, apart from the formats: flags and the manifest's schema list them
// without loading every writer (and Mustache) for `--help` and `status`.
export const FORMAT_NAMES = ["csv", "jsonl", "parquet", "chat", "preference", "openai-preference"] as const;

export type FormatName = (typeof FORMAT_NAMES)[number];

/**
 * The column that names the run that wrote a row, so rows that several runs appended to one file
 * can be told apart: the metrics file's last, or, without a metrics file (--no-m), the dataset's.
 * Here, a module that imports nothing, so every format can take it without an import cycle.
 */
export const RUN_COLUMN = "run_id";
