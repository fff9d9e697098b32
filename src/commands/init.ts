import { command } from "./shared.ts";
import { metaOf } from "./index.ts";
import { scaffold } from "../dataset/scaffold.ts";

export default command({
  meta: metaOf("init"),
  args: {
    dir: { type: "positional", description: "Folder to create them in", required: true },
    prompt: {
      type: "boolean",
      description: "A prompt file (prompt.md) over the rows of rows.csv instead of a spec module",
    },
  },
  async run({ args }) {
    const files = await scaffold(args.dir, { prompt: Boolean(args.prompt) });
    const next = args.prompt
      ? `synthai preview --input ${files[2]} --prompt ${files[0]} -j ${files[1]}`
      : `synthai preview --spec ${files[0]} -j ${files[1]}`;
    console.log(`wrote ${files.join(", ")}\nnext: ${next}`);
  },
});
