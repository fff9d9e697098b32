// What a dataset spec module imports: `defineDataset`, the default parsers, and their types.
// A stable path for specs outside the project (`synthai init` writes it into dataset.ts).
export { defineDataset, parseMarkers, parseStructured } from "./dataset/spec.ts";
export type { Dataset, Draw, Message, ParseResult, Stage, StageOptions } from "./dataset/spec.ts";
export type { Params } from "./dataset/params.ts";
