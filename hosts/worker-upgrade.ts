// Workers upgraded in batches: before a worker's new binaries go in, an admin on
// the first control-plane host cordons and drains it (marking it, so only nodes
// drydock cordoned are uncordoned); after the worker is back, it is uncordoned.
// A node that has not registered yet (first bring-up) is left alone.
import { adminKubectl } from "./control-plane";

/** Marks a node drydock cordoned for an upgrade. */
export const UPGRADE_ANNOTATION = "drydock.io/upgrading";

export function cordonDrainScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    `if ! ${k(`get node ${node}`)} >/dev/null 2>&1; then echo "drydock: ${node} not registered yet; nothing to drain" >&2; exit 0; fi`,
    // Never take over a node someone else cordoned: only a schedulable node is marked.
    `if [ "$(${k(`get node ${node} -o 'jsonpath={.spec.unschedulable}'`)})" != "true" ]; then`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}=true --overwrite`)}`,
    "fi",
    k(`drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=300s`),
  ].join("\n");
}

export function uncordonScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    `if [ "$(${k(`get node ${node} -o 'jsonpath={.metadata.annotations.drydock\\.io/upgrading}'`)} 2>/dev/null)" = "true" ]; then`,
    `  ${k(`uncordon ${node}`)}`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}-`)}`,
    "fi",
  ].join("\n");
}
