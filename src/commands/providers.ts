import { formatProviders } from "../views/providers.ts";
import { command } from "./shared.ts";

export default command({
  meta: {
    name: "providers",
    description:
      "List the batch services synthai knows (--provider NAME): addresses, keys, windows, discounts, limits",
  },
  args: {},
  run() {
    console.log(formatProviders());
  },
});
