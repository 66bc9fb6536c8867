// What an admin on the first control-plane host does to a worker node: for an
// upgrade, cordon and drain it (marking it, so only nodes drydock cordoned are
// uncordoned) and uncordon it once it is back; when the worker goes, drain it and
// delete it from the API. A node that has not registered yet is left alone.
import { adminKubectl, annotationJsonpath } from "./control-plane";

/** Marks a node drydock cordoned for an upgrade. */
export const UPGRADE_ANNOTATION = "drydock.io/upgrading";

const drain = (node: string) => `drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=300s`;

export function cordonDrainScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    `if ! ${k(`get node ${node}`)} >/dev/null 2>&1; then echo "drydock: ${node} not registered yet; nothing to drain" >&2; exit 0; fi`,
    // Never take over a node someone else cordoned: only a schedulable node is marked.
    `if [ "$(${k(`get node ${node} -o 'jsonpath={.spec.unschedulable}'`)})" != "true" ]; then`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}=true --overwrite`)}`,
    "fi",
    k(drain(node)),
  ].join("\n");
}

export function uncordonScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    `if [ "$(${k(`get node ${node} -o 'jsonpath={${annotationJsonpath(UPGRADE_ANNOTATION)}}'`)} 2>/dev/null)" = "true" ]; then`,
    `  ${k(`uncordon ${node}`)}`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}-`)}`,
    "fi",
  ].join("\n");
}

/** Before a worker's machine or provisioning goes: drained, then deleted from the API. */
export function removeNodeScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -uo pipefail",
    `if ${k(`get node ${node}`)} >/dev/null 2>&1; then`,
    `  ${k(drain(node))}`,
    `  ${k(`delete node ${node} --wait=true`)}`,
    "fi",
  ].join("\n");
}
