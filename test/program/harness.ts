// Runs the real Pulumi program (index.ts) under pulumi.runtime.setMocks and
// records every registered resource, components included.
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";

// Present in the runtime's JavaScript but not in its typings: waits for every
// outstanding resource registration.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
import { ROOT } from "../helpers";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, any>;
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  readonly exports: Record<string, unknown>;
}

/** Resolves a Pulumi output to its value (and whether it is secret). */
export async function resolveOutput<T>(output: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  const secret = await (output as any).isSecret;
  const value = await new Promise<T>((resolve) => output.apply((v) => { resolve(v); return v; }));
  return { value, secret };
}

export async function runIndex(config: Record<string, string>): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs });
        return { id: args.custom ? `${args.name}-id` : "", state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "drydock",
    "test",
    false,
  );
  pulumi.runtime.setAllConfig(config);
  const entry = require.resolve(join(ROOT, "index.ts"));
  delete require.cache[entry];
  const exports = require(entry) as Record<string, unknown>;
  await waitForRPCs();
  return { resources, exports };
}
