// The seed's example, as the built-in default: customer-service calls of an energy supplier
// with a summary, in `[Call]` / `[Summary]` sections.
export { default } from "../../src/dataset/builtin/customer-calls.ts";
