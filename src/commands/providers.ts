import { formatProviders } from "../views/providers.ts";
import { metaOf } from "./index.ts";
import { command } from "./shared.ts";

export default command({
  meta: metaOf("providers"),
  args: {},
  run() {
    console.log(formatProviders());
  },
});
