// Start-up, as `npm run bench` prints it: `bin/synthai --version`, `--help` and `status` against
// `node -e 0` on the same Node, for each Node of the PATH (the machine's own, npm's 24). The two
// commands run in turn, A B A B …, and the ratio is taken pair by pair, so a drift of the
// machine's speed moves both; the median of the pairs is printed.
import { spawnSync } from "node:child_process";
import { nodesOnPath } from "../test/nodes.ts";

const PAIRS = 20;

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Wall seconds of one run of `args` on `node`, which must exit 0. */
function wall(node: string, args: string[], cwd: string): number {
  const started = performance.now();
  const { status } = spawnSync(node, args, { cwd, stdio: "ignore" });
  if (status !== 0) throw new Error(`${node} ${args.join(" ")} exited with ${status}`);
  return (performance.now() - started) / 1000;
}

/** The start-up table's rows: each command on each Node, against `node -e 0` on it, in pairs. */
export function startupTable(launcher: string, runsDir: string, cwd: string): string[] {
  const commands = [["--version"], ["--help"], ["status", "--runs-dir", runsDir]];
  const rows = [
    `| Node | command | seconds | node -e 0, seconds | ratio (median of ${PAIRS} pairs) |`,
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const [version, node] of nodesOnPath()) {
    for (const args of commands) {
      const a: number[] = [];
      const b: number[] = [];
      wall(node, [launcher, ...args], cwd); // the first run after a change fills the caches
      for (let i = 0; i < PAIRS; i++) {
        a.push(wall(node, [launcher, ...args], cwd));
        b.push(wall(node, ["-e", "0"], cwd));
      }
      const ratio = median(a.map((s, i) => s / b[i]!));
      const shown = args[0] === "status" ? "status (a folder of runs)" : args[0];
      rows.push(
        `| ${version} | \`synthai ${shown}\` | ${median(a).toFixed(3)} | ${median(b).toFixed(3)} | ${ratio.toFixed(2)} |`,
      );
    }
  }
  return rows;
}
