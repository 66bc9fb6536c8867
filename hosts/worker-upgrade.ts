// What an admin on the first control-plane host does to a worker node: for an
// upgrade, cordon and drain it (marking it, so only nodes drydock cordoned are
// uncordoned) and uncordon it once it is back; when the worker goes, drain it and
// delete it from the API. A read the API does not answer is asked again and never
// taken for "not registered": that once left a removed worker in the API (the engine
// runs a run's deletes while its updates may still run).
import { adminKubectl, annotationJsonpath, CONTROL_PLANE_PODS_STEP } from "./control-plane";
import { stepRecordPath } from "./phases";

/** Marks a node drydock cordoned for an upgrade. */
export const UPGRADE_ANNOTATION = "drydock.io/upgrading";

/** Attempts, 5 s apart, at a read the API does not answer. */
export const API_READ_ATTEMPTS = 24;

/** A shell function: runs a read until the API answers and prints the answer; returns 1 after API_READ_ATTEMPTS. */
const API_READ = [
  "api_read() {",
  "  local out attempt=1",
  '  until out=$("$@"); do',
  `    if [ "$attempt" -ge ${API_READ_ATTEMPTS} ]; then echo "drydock: the API did not answer: \${*:5}" >&2; return 1; fi`,
  "    attempt=$((attempt + 1)); sleep 5",
  "  done",
  "  printf '%s' \"$out\"",
  "}",
].join("\n");

/** Sets $variable to what the API says of the node (empty when it is not there), else runs onSilence. */
const readNode = (variable: string, node: string, k: (args: string) => string, output: string, onSilence = "exit 1") =>
  `${variable}=$(api_read ${k(`get node ${node} --ignore-not-found -o ${output}`)}) || { ${onSilence}; }`;

const drain = (node: string) => `drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=300s`;

export function cordonDrainScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    // A new worker (the first bring-up, a pool scaled up) runs this too: until this host's
    // control plane has run, there is no API to ask and no node to drain.
    `if [ ! -e ${stepRecordPath(CONTROL_PLANE_PODS_STEP)} ]; then echo "drydock: no control plane has run on this host yet; nothing to drain" >&2; exit 0; fi`,
    API_READ,
    readNode("registered", node, k, "name"),
    `if [ -z "$registered" ]; then echo "drydock: ${node} not registered yet; nothing to drain" >&2; exit 0; fi`,
    // Never take over a node someone else cordoned: only a schedulable node is marked.
    readNode("unschedulable", node, k, "'jsonpath={.spec.unschedulable}'"),
    `if [ "$unschedulable" != "true" ]; then`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}=true --overwrite`)}`,
    "fi",
    k(drain(node)),
  ].join("\n");
}

export function uncordonScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    "set -euo pipefail",
    API_READ,
    readNode("marked", node, k, `'jsonpath={${annotationJsonpath(UPGRADE_ANNOTATION)}}'`),
    `if [ "$marked" = "true" ]; then`,
    `  ${k(`uncordon ${node}`)}`,
    `  ${k(`annotate node ${node} ${UPGRADE_ANNOTATION}-`)}`,
    "fi",
  ].join("\n");
}

/** Before a worker's machine or provisioning goes: drained, then deleted from the API. */
export function removeNodeScript(node: string, server: string): string {
  const k = (args: string) => adminKubectl(args, server);
  return [
    // No -e: a drain that fails (a PodDisruptionBudget that never allows it) still ends in the delete.
    "set -uo pipefail",
    API_READ,
    // An API silent for two minutes (a control plane that is down, a cluster torn down whole)
    // must not stop the machine from going: said loudly, and left to the operator.
    readNode("registered", node, k, "name", `echo "drydock: ${node} was neither drained nor deleted from the API; once it answers: kubectl delete node ${node}" >&2; exit 0`),
    `if [ -n "$registered" ]; then`,
    `  ${k(drain(node))}`,
    `  ${k(`delete node ${node} --wait=true`)}`,
    "fi",
  ].join("\n");
}
