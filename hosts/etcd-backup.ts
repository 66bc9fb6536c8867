// etcd snapshots on every member (a systemd timer per etcd.snapshots), verified
// after each run, and a restore script that rebuilds a member from one snapshot.
// Scripts read their paths from the environment with production defaults, so
// tests point them at temporary folders.
import type { PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { BIN_DIR } from "./artifacts";
import { ETCD_DATA_DIR, etcdClientUrl, etcdPeerUrl } from "./etcd";
import { type HostFile, publicFile } from "./files";
import { PKI_DIR } from "./pki-files";
import { shellQuote as q } from "./shell";
import type { StepDraft } from "./steps";

export const SNAPSHOT_DIR = "/var/lib/etcd-snapshots";
export const SNAPSHOT_SCRIPT = "/usr/local/lib/drydock/etcd-snapshot.sh";
export const RESTORE_SCRIPT = "/usr/local/lib/drydock/etcd-restore.sh";
export const SNAPSHOT_SERVICE = "/etc/systemd/system/etcd-snapshot.service";
export const SNAPSHOT_TIMER = "/etc/systemd/system/etcd-snapshot.timer";

// etcd 3.6 moved snapshot status and restore to etcdutl; older etcdctl still has them.
const SNAPSHOT_TOOL = `tool() { if command -v etcdutl >/dev/null 2>&1; then etcdutl "$@"; else ETCDCTL_API=3 etcdctl "$@"; fi; }`;

/** Where snapshots are copied off the members (aws: the cluster's snapshot bucket). */
export interface SnapshotStore {
  readonly bucket: string;
  readonly region: string;
}

/**
 * Uploads the verified snapshot with the instance role's credentials (IMDSv2) and
 * SigV4 signing by curl. Credentials reach curl through its config on stdin, never
 * its command line. The endpoints are overridable for tests.
 */
function uploadFunction(store: SnapshotStore, member: PlannedHost): string {
  return `upload() {
  local file="$1" imds="\${SNAPSHOT_IMDS:-http://169.254.169.254}" s3="\${SNAPSHOT_S3_ENDPOINT:-https://${store.bucket}.s3.${store.region}.amazonaws.com}"
  local token role creds key sha
  token="$(curl -sf --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/latest/api/token")"
  role="$(curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/iam/security-credentials/" | head -n1)"
  creds="$(curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/iam/security-credentials/$role")"
  field() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p' <<<"$creds"; }
  key="etcd/${member.name}/$(basename "$file")"
  sha="$(sha256sum "$file" | cut -d' ' -f1)"
  printf 'user = "%s:%s"\\nheader = "x-amz-security-token: %s"\\n' "$(field AccessKeyId)" "$(field SecretAccessKey)" "$(field Token)" |
    curl -sf --show-error --max-time 600 --config - --aws-sigv4 "aws:amz:${store.region}:s3" \\
      -H "x-amz-content-sha256: $sha" -H "x-amz-server-side-encryption: AES256" -T "$file" "$s3/$key"
  echo "drydock: uploaded $file to s3://${store.bucket}/$key"
}`;
}

// Off the member: a failed upload fails the run (the local snapshot stays).
const UPLOAD_CALL = 'upload "$file"';

export function snapshotScript(spec: ClusterSpec, member: PlannedHost, store: SnapshotStore | null = null): string {
  return `#!/bin/bash
# drydock: snapshot this etcd member, verify it, keep the newest ${spec.etcd.snapshots.retain}.
set -euo pipefail
export PATH="${BIN_DIR}:$PATH"
dir="\${SNAPSHOT_DIR:-${SNAPSHOT_DIR}}"
pki="\${ETCD_PKI_DIR:-${PKI_DIR}/etcd}"
endpoint="\${ETCD_ENDPOINT:-${etcdClientUrl("127.0.0.1")}}"
retain="\${SNAPSHOT_RETAIN:-${spec.etcd.snapshots.retain}}"
${SNAPSHOT_TOOL}
${store ? uploadFunction(store, member) : ""}
install -d -m 0700 "$dir"
file="$dir/etcd-${member.name}-$(date -u +%Y%m%dT%H%M%S%NZ).db"
ETCDCTL_API=3 etcdctl --endpoints="$endpoint" --cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" --key="$pki/healthcheck-client.key" --dial-timeout=5s --command-timeout=60s snapshot save "$file.part" >/dev/null
# Verified before it counts: a snapshot that does not read back is removed.
if ! status="$(tool snapshot status "$file.part" -w json 2>&1)"; then
  rm -f "$file.part"; echo "drydock: snapshot failed verification: $status" >&2; exit 1
fi
chmod 0600 "$file.part"
mv "$file.part" "$file"
echo "drydock: snapshot $file $status"
${store ? UPLOAD_CALL : ""}
ls -1t "$dir"/etcd-*.db | tail -n +$((retain + 1)) | xargs -r rm -f
`;
}

/** Rebuilds this member's data from a snapshot; run on every member with the same snapshot. */
export function restoreScript(spec: ClusterSpec, member: PlannedHost, members: readonly PlannedHost[]): string {
  const initialCluster = members.map((m) => `${m.name}=${etcdPeerUrl(m.address)}`).join(",");
  return `#!/bin/bash
# drydock: restore etcd member ${member.name} from a snapshot. Run on every member with the
# same snapshot file, then start etcd on all of them.
set -euo pipefail
export PATH="${BIN_DIR}:$PATH"
snapshot="\${1:?usage: etcd-restore.sh <snapshot.db>}"
data="\${ETCD_DATA_DIR:-${ETCD_DATA_DIR}}"
${SNAPSHOT_TOOL}
tool snapshot status "$snapshot" -w json >/dev/null
if [ -z "\${DRYDOCK_NO_SYSTEMD:-}" ]; then systemctl stop etcd; fi
if [ -d "$data" ]; then mv "$data" "$data.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"; fi
tool snapshot restore "$snapshot" --name ${q(member.name)} --data-dir "$data" \\
  --initial-cluster ${q(initialCluster)} --initial-cluster-token ${q(`drydock-${spec.name}`)} \\
  --initial-advertise-peer-urls ${q(etcdPeerUrl(member.address))}
chmod 0700 "$data"
if [ -z "\${DRYDOCK_NO_SYSTEMD:-}" ]; then systemctl start etcd --no-block; fi
echo "drydock: ${member.name} restored from $snapshot; start etcd on every member"
`;
}

export function snapshotUnits(spec: ClusterSpec): { service: string; timer: string } {
  const hours = spec.etcd.snapshots.intervalHours;
  return {
    service: `[Unit]
Description=etcd snapshot (drydock)
After=etcd.service
Requires=etcd.service

[Service]
Type=oneshot
ExecStart=${SNAPSHOT_SCRIPT}
`,
    timer: `[Unit]
Description=etcd snapshot every ${hours}h (drydock)

[Timer]
OnBootSec=15min
OnUnitActiveSec=${hours}h
RandomizedDelaySec=5min
Persistent=true

[Install]
WantedBy=timers.target
`,
  };
}

export function etcdBackupFiles(spec: ClusterSpec, member: PlannedHost, members: readonly PlannedHost[], store: SnapshotStore | null = null): HostFile[] {
  const units = snapshotUnits(spec);
  return [
    publicFile(SNAPSHOT_SCRIPT, snapshotScript(spec, member, store), 0o700),
    publicFile(RESTORE_SCRIPT, restoreScript(spec, member, members), 0o700),
    publicFile(SNAPSHOT_SERVICE, units.service),
    publicFile(SNAPSHOT_TIMER, units.timer),
  ];
}

export function etcdSnapshotsStep(dependsOn: readonly string[]): StepDraft {
  return {
    name: "etcd-snapshots",
    description: "snapshot timer on, and one snapshot taken and verified now",
    dependsOn,
    triggers: [SNAPSHOT_SCRIPT, SNAPSHOT_SERVICE, SNAPSHOT_TIMER],
    body: `
systemctl daemon-reload
systemctl enable --now etcd-snapshot.timer
# The first snapshot, retried while the quorum settles (members joining, an election);
# each failure says why.
taken=0
for attempt in 1 2 3; do
  if systemctl start etcd-snapshot.service; then taken=1; break; fi
  journalctl -u etcd-snapshot.service -n 20 --no-pager -o cat >&2
  sleep 5
done
[ "$taken" = 1 ]`,
    check: { command: `systemctl is-active --quiet etcd-snapshot.timer && ls ${SNAPSHOT_DIR}/etcd-*.db >/dev/null`, timeoutSeconds: 120 },
  };
}

