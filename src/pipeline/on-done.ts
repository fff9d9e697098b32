import { spawn } from "node:child_process";
import type { Log } from "../io/log.ts";
import type { Manifest } from "../run/manifest.ts";

/** Runs the user's command with the run's id, state and output in its environment. */
export function runOnDone(manifest: Manifest, log: Log): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(manifest.config.onDone!, {
      shell: true,
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        SYNTHAI_RUN_ID: manifest.id,
        SYNTHAI_RUN_STATE: manifest.state,
        SYNTHAI_OUTPUT: manifest.config.output,
      },
    });
    child.on("error", (error) => {
      log(`warning: --on-done command could not start: ${error.message}`);
      resolve();
    });
    child.on("close", (code) => {
      if (code) log(`warning: --on-done command exited with ${code}`);
      resolve();
    });
  });
}
