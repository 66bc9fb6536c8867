// Host steps: what runs on a host, after what, and how it is judged healthy.
// Each step's script is one of the host's files, so it can be read, diffed and
// run by hand; provisioning runs `bash <script>` over SSH.
import { type HostFile, publicFile } from "./files";

export const STEP_DIR = "/usr/local/lib/drydock/steps";

export interface HealthCheck {
  /** Shell command that exits 0 when healthy. */
  readonly command: string;
  /** How long provisioning keeps retrying before it fails with the command's stderr. */
  readonly timeoutSeconds: number;
}

export interface HostStep {
  /** "<host>/<name>", unique in the cluster. */
  readonly id: string;
  readonly host: string;
  readonly name: string;
  readonly description: string;
  /** Absolute path of the step's script on the host. */
  readonly script: string;
  readonly dependsOn: readonly string[];
  readonly check: HealthCheck | null;
  /** Files whose change makes the step run again (a changed config restarts its service). */
  readonly triggers: readonly string[];
}

export interface StepDraft {
  readonly name: string;
  readonly description: string;
  readonly body: string;
  readonly dependsOn?: readonly string[];
  readonly check?: HealthCheck | null;
  readonly triggers?: readonly string[];
}

export function stepId(host: string, name: string): string {
  return `${host}/${name}`;
}

/** Where a step's script lands on its host. */
export const stepScript = (name: string) => `${STEP_DIR}/${name}.sh`;

/**
 * A service's start step re-runs (restarting the service) when the step that
 * installs its binaries changes: that script names the version and checksum.
 */
export function restartsOnInstall(draft: StepDraft, installStep: string): StepDraft {
  return { ...draft, triggers: [...(draft.triggers ?? []), stepScript(installStep)] };
}

/** Turns a draft into the step and the script file that carries it. */
export function buildStep(host: string, draft: StepDraft): { step: HostStep; file: HostFile } {
  const script = stepScript(draft.name);
  const content = `#!/bin/bash\n# drydock step ${draft.name}: ${draft.description}\nset -euo pipefail\n${draft.body.trim()}\n`;
  return {
    step: {
      id: stepId(host, draft.name),
      host,
      name: draft.name,
      description: draft.description,
      script,
      dependsOn: [...(draft.dependsOn ?? [])],
      check: draft.check ?? null,
      triggers: [...(draft.triggers ?? [])],
    },
    file: publicFile(script, content, 0o755),
  };
}
