import { command } from "./shared.ts";
import { scaffold } from "../dataset/scaffold.ts";

export default command({
  meta: { name: "init", description: "Scaffold a dataset: a spec module (dataset.ts) and a params.json" },
  args: { dir: { type: "positional", description: "Folder to create them in", required: true } },
  async run({ args }) {
    const files = await scaffold(args.dir);
    console.log(`wrote ${files.join(" and ")}\nnext: synthai preview --spec ${files[0]} -j ${files[1]}`);
  },
});
