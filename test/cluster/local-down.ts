// npm run local:down — pulumi destroy of the cluster local:up made, then its servers and folder.
import { existsSync, rmSync } from "node:fs";
import { LOCAL_DIR, stopServers } from "./local-up";
import { openEngine } from "./local-cluster";

async function main(): Promise<void> {
  if (!existsSync(LOCAL_DIR)) {
    console.log(`local: nothing to take down (${LOCAL_DIR} does not exist)`);
    return;
  }
  const { engine } = await openEngine(LOCAL_DIR);
  const down = await engine.destroy();
  console.log(`local: destroy ${down.summary.result}: ${JSON.stringify(down.summary.resourceChanges)}`);
  stopServers();
  rmSync(LOCAL_DIR, { recursive: true, force: true });
}

main().catch((err: Error) => {
  console.error(`local:down failed: ${err.message.split("\n").slice(-20).join("\n")}`);
  process.exit(1);
});
