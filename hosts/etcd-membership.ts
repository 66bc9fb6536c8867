// etcd membership that follows the spec, one change at a time, never losing
// quorum: a new member is added to the running cluster (member add) before it
// starts, and starts with initial-cluster-state "existing"; a member leaving is
// removed from the cluster (member remove) before its host is reset or deleted.
// Scripts read paths and endpoints from the environment with production
// defaults, so tests run them against processes on loopback addresses.
import type { PlannedHost } from "../spec/addresses";
import { BIN_DIR } from "./artifacts";
import { ETCD_CONFIG_PATH, ETCD_DATA_DIR, ETCD_EFFECTIVE_CONFIG_PATH, etcdClientUrl, etcdPeerUrl } from "./etcd";
import { PKI_DIR } from "./pki-files";
import { shellQuote as q } from "./shell";

export const JOIN_SCRIPT = "/usr/local/lib/drydock/etcd-join.sh";

/**
 * etcd refuses a membership change until every current member has been connected a
 * while (strict reconfiguration check: "unhealthy cluster"): retry, bounded.
 */
const RETRY = `retry() { local what="$1" out attempt; shift; for attempt in $(seq 1 30); do if out="$("$@" 2>&1)"; then echo "$out"; return 0; fi; sleep 2; done; echo "drydock: $what failed: $out" >&2; return 1; }`;

const ETCDCTL = `env ETCDCTL_API=3 etcdctl --cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" --key="$pki/healthcheck-client.key" --dial-timeout=3s --command-timeout=10s`;

/**
 * Prepares the config etcd runs with (a copy of the rendered one) before etcd
 * starts. With an empty data dir and a running cluster among the other members,
 * it adds itself (member add) and switches that copy to join: initial-cluster-state
 * existing, with the cluster's current members. A member the cluster knows as
 * started but whose data is gone (a replaced machine) is removed first and joins
 * anew. Otherwise (first bring-up, or a restart) the config is used as rendered.
 */
export function joinScript(member: PlannedHost, others: readonly PlannedHost[]): string {
  return `#!/bin/bash
set -euo pipefail
export PATH="${BIN_DIR}:$PATH"
config="\${ETCD_CONFIG:-${ETCD_CONFIG_PATH}}"
effective="\${ETCD_EFFECTIVE_CONFIG:-${ETCD_EFFECTIVE_CONFIG_PATH}}"
data="\${ETCD_DATA_DIR:-${ETCD_DATA_DIR}}"
pki="\${ETCD_PKI_DIR:-${PKI_DIR}/etcd}"
others="\${ETCD_OTHER_ENDPOINTS:-${others.map((m) => etcdClientUrl(m.address)).join(",")}}"
name=${q(member.name)}
peer=${q(etcdPeerUrl(member.address))}
${RETRY}
# etcd runs with a copy of the rendered config; joining edits only the copy.
install -m 0600 "$config" "$effective"
# A member with data is already part of the cluster: nothing to do.
if [ -d "$data/member" ]; then exit 0; fi
# No other member answering: this is the cluster's first bring-up.
[ -n "$others" ] || exit 0
list="$(${ETCDCTL} --endpoints="$others" member list -w simple 2>/dev/null)" || exit 0
# Listed as started, yet no data here: the member's machine or disk was replaced. It
# cannot rejoin under its old identity (its raft log is gone), so it leaves and joins anew.
stale="$(awk -F', ' -v peer="$peer" '$4 == peer && $2 == "started" { print $1 }' <<<"$list")"
if [ -n "$stale" ]; then
  retry "member remove $stale" ${ETCDCTL} --endpoints="$others" member remove "$stale" >&2
  echo "drydock: $name lost its data; removed its old membership $stale to join anew" >&2
  list="$(${ETCDCTL} --endpoints="$others" member list -w simple)"
fi
if ! grep -q ", $peer" <<<"$list"; then
  retry "member add $name" ${ETCDCTL} --endpoints="$others" member add "$name" --peer-urls="$peer" >/dev/null
  list="$(${ETCDCTL} --endpoints="$others" member list -w simple)"
fi
# The cluster as it is now, this member included (it has no name until it starts).
cluster="$(awk -F', ' -v self="$name" -v peer="$peer" '{ n = ($3 == "" ? self : $3); if ($4 == peer) n = self; printf "%s%s=%s", (NR > 1 ? "," : ""), n, $4 }' <<<"$list")"
sed -i -e "s|^initial-cluster-state: .*|initial-cluster-state: existing|" -e "s|^initial-cluster: .*|initial-cluster: $cluster|" "$effective"
echo "drydock: $name joins the running cluster: $cluster"
`;
}

/**
 * Run on another member's host: removes the leaving member from the cluster by
 * name, through any of the other members that still answers (the host it runs
 * on may itself have left already, when several members go at once). With no
 * cluster answering (the whole cluster is being torn down) or only the leaving
 * member left, there is nothing to remove from.
 */
export function leaveScript(member: PlannedHost, others: readonly PlannedHost[]): string {
  return `set -uo pipefail
export PATH="${BIN_DIR}:$PATH"
pki="\${ETCD_PKI_DIR:-${PKI_DIR}/etcd}"
endpoints="\${ETCD_ENDPOINTS:-${others.map((m) => etcdClientUrl(m.address)).join(",")}}"
# One member that serves with a quorum (health is a quorum read): a member that has
# just left, or is stopping, may still answer from stale data.
endpoint=""
for candidate in \${endpoints//,/ }; do
  if ${ETCDCTL} --endpoints="$candidate" endpoint health >/dev/null 2>&1; then endpoint="$candidate"; break; fi
done
if [ -z "$endpoint" ] || ! list="$(${ETCDCTL} --endpoints="$endpoint" member list -w simple 2>/dev/null)"; then
  echo "drydock: no etcd cluster answers at $endpoints; nothing to remove ${member.name} from" >&2; exit 0
fi
[ "$(grep -c . <<<"$list")" -gt 1 ] || exit 0
id="$(awk -F', ' -v name=${q(member.name)} -v peer=${q(etcdPeerUrl(member.address))} '$3 == name || $4 == peer { print $1 }' <<<"$list")"
${RETRY}
set -e
if [ -n "$id" ]; then
  retry "member remove ${member.name}" ${ETCDCTL} --endpoints="$endpoint" member remove "$id"
  echo "drydock: removed etcd member ${member.name} ($id)"
fi
`;
}
