// Groups a host's steps into phases: consecutive steps that wait on nothing but
// their own host run as one remote command, so a worker costs a handful of
// resources whatever the number of steps. A new phase starts wherever a step
// waits on another host.
import type { HostPlan } from "./host-plan";
import { shellQuote as q } from "./shell";
import type { HostStep } from "./steps";

export interface Phase {
  /** "<host>/<index>-<first step name>" */
  readonly id: string;
  readonly host: string;
  readonly steps: readonly HostStep[];
  /** Phases (on this or other hosts) that must finish first. */
  readonly dependsOn: readonly string[];
}

export function planPhases(plans: readonly HostPlan[]): Phase[] {
  const phaseOfStep = new Map<string, string>();
  const drafts: { id: string; host: string; steps: HostStep[]; stepDeps: Set<string>; previous: string | null }[] = [];
  for (const plan of plans) {
    let current: (typeof drafts)[number] | null = null;
    for (const step of plan.steps) {
      const crossHost = step.dependsOn.filter((d) => !d.startsWith(`${plan.host.name}/`));
      if (current === null || crossHost.length > 0) {
        const previous: string | null = current ? current.id : null;
        current = { id: `${plan.host.name}/${drafts.filter((d) => d.host === plan.host.name).length}-${step.name}`, host: plan.host.name, steps: [], stepDeps: new Set(), previous };
        drafts.push(current);
      }
      current.steps.push(step);
      for (const d of crossHost) current.stepDeps.add(d);
      phaseOfStep.set(step.id, current.id);
    }
  }
  return drafts.map((d) => ({
    id: d.id,
    host: d.host,
    steps: d.steps,
    dependsOn: [...new Set([...(d.previous ? [d.previous] : []), ...[...d.stepDeps].map((s) => phaseOfStep.get(s)!)])],
  }));
}

/**
 * The phase with its steps as a host's real plan has them: phases are planned from the
 * spec's shape (stand-in material and endpoint), but what runs must be the real steps
 * (their check commands name the real API endpoint).
 */
export function withStepsOf(phase: Phase, plan: HostPlan): Phase {
  const steps = phase.steps.map((shaped) => {
    const step = plan.steps.find((s) => s.id === shaped.id);
    if (!step) throw new Error(`phase ${phase.id}: the host's plan has no step ${shaped.id}`);
    return step;
  });
  return { ...phase, steps };
}

/** Where a step that restarts a service records what it last applied. */
export const STEP_STATE_DIR = "/usr/local/lib/drydock/state";

/** That folder as a shell word: DRYDOCK_STEP_STATE moves it, so tests run phases outside a host. */
const STEP_STATE = `"\${DRYDOCK_STEP_STATE:-${STEP_STATE_DIR}}"`;
const stepRecordName = (step: string) => `${step}.sha256`;

/** A shell word: the file that records a step's last success on its host. */
export const stepRecordPath = (step: string) => `${STEP_STATE}/${stepRecordName(step)}`;

/**
 * Runs each step, then its health check with a bounded wait; fails loudly with
 * the check's output. A step with trigger files is skipped when neither its
 * script nor those files changed since it last succeeded and its check still
 * passes: running the phase again restarts nothing that is unchanged and healthy.
 */
export function phaseScript(phase: Phase): string {
  const lines = ["set -euo pipefail", `state=${STEP_STATE}`, 'mkdir -p "$state"'];
  for (const step of phase.steps) {
    // Marks where each step's lines begin and end, for reading the script by step.
    lines.push(`# step ${step.id}`);
    const check = step.check ? `bash -c ${q(step.check.command)} >/dev/null 2>&1` : "true";
    const record = `"$state"/${q(stepRecordName(step.name))}`;
    const tracked = step.triggers.length > 0;
    if (tracked) {
      lines.push(
        `digest="$(sha256sum ${[step.script, ...step.triggers].map(q).join(" ")} 2>/dev/null | sha256sum | cut -d' ' -f1)" || digest=changed`,
        `if [ "$digest" = "$(cat ${record} 2>/dev/null)" ] && ${check}; then`,
        `  echo "drydock: ${step.id}: unchanged and healthy" >&2`,
        "else",
      );
    }
    lines.push(`echo "drydock: ${step.id}: ${step.description.replace(/"/g, "'")}" >&2`);
    lines.push(`bash ${q(step.script)}`);
    if (step.check) {
      const attempts = Math.max(1, Math.ceil(step.check.timeoutSeconds / 5));
      // Each phase its own output file: phases of one host run at the same time.
      lines.push(
        `checked="$(mktemp)"; healthy=0; for attempt in $(seq 1 ${attempts}); do if bash -c ${q(step.check.command)} >"$checked" 2>&1; then healthy=1; break; fi; sleep 5; done`,
        `if [ "$healthy" != 1 ]; then echo "drydock: ${step.id} still unhealthy after ${step.check.timeoutSeconds}s:" >&2; cat "$checked" >&2; rm -f "$checked"; exit 1; fi`,
        `rm -f "$checked"`,
      );
    }
    if (tracked) lines.push(`echo "$digest" > ${record}`, "fi");
    lines.push(`# end ${step.id}`);
  }
  return `${lines.join("\n")}\n`;
}
