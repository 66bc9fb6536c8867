// etcd backups with real etcd: the rendered snapshot script saves and verifies
// snapshots with retention; the rendered restore scripts rebuild the whole
// quorum from one snapshot, which keeps every key written before it.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planAddresses } from "../../spec/addresses";
import { etcdMembers } from "../../hosts/etcd";
import { RESTORE_SCRIPT, SNAPSHOT_SCRIPT } from "../../hosts/etcd-backup";
import { ProcessGroup, etcdClient, etcdctlWith, renderToTemp, requireBinaries, run, waitFor, writeLocalEtcdConfig, hostsSpec } from "./helpers";

before(() => requireBinaries("etcd", "etcdctl"));

test("snapshot with retention, then restore the whole quorum from one snapshot", async () => {
  const spec = hostsSpec({
    name: "backup",
    etcd: { snapshots: { intervalHours: 1, retain: 2 } },
    hosts: [...[1, 2, 3].map((i) => ({ name: `etcd-${i}`, address: `127.0.0.${100 + i}`, roles: ["etcd"] })), { name: "cp-1", address: "127.0.0.104", roles: ["controlPlane"] }],
  });
  const r = renderToTemp(spec);
  const work = mkdtempSync(join(tmpdir(), "drydock-backup-"));
  const procs = new ProcessGroup();
  const members = etcdMembers(planAddresses(spec).hosts);
  const started = new Map<string, ReturnType<ProcessGroup["start"]>>();
  const dataDir = (name: string) => join(work, name, "data");
  const start = (name: string) => started.set(name, procs.start("etcd", [`--config-file=${join(work, name, "etcd.conf.yml")}`]));
  const pki = (name: string) => r.host(name, "/etc/kubernetes/pki/etcd");
  const endpoints = members.map((m) => `https://${m.address}:2379`).join(",");
  const etcdctl = etcdctlWith(endpoints, etcdClient(pki("etcd-1"), "healthcheck-client"));
  const healthy = () => etcdctl("endpoint", "health").code === 0;
  try {
    for (const m of members) {
      writeLocalEtcdConfig(spec, m, members, pki(m.name), join(work, m.name));
      start(m.name);
    }
    await waitFor("quorum", healthy, 150, 200);
    for (let i = 0; i < 20; i++) assert.equal(etcdctl("put", `/k/${i}`, `v${i}`).code, 0);

    const snapshots = join(work, "snapshots");
    const snapshot = () =>
      run("bash", [r.host("etcd-1", SNAPSHOT_SCRIPT)], { env: { ...process.env, SNAPSHOT_DIR: snapshots, ETCD_PKI_DIR: pki("etcd-1"), ETCD_ENDPOINT: "https://127.0.0.101:2379" } });
    for (let i = 0; i < 3; i++) {
      const res = snapshot();
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /drydock: snapshot .*etcd-etcd-1-.*\.db \{.*"totalKey"/);
    }
    const files = readdirSync(snapshots).filter((f) => f.endsWith(".db")).sort();
    assert.equal(files.length, 2, "retention keeps the newest 2");
    const latest = join(snapshots, files[files.length - 1]!);

    // Written after the snapshot: a restore goes back to the snapshot's point in time.
    assert.equal(etcdctl("put", "/after", "x").code, 0);
    for (const m of members) await procs.stop(started.get(m.name)!);

    for (const m of members) {
      const res = run("bash", [r.host(m.name, RESTORE_SCRIPT), latest], { env: { ...process.env, ETCD_DATA_DIR: dataDir(m.name), DRYDOCK_NO_SYSTEMD: "1" } });
      assert.equal(res.code, 0, `${m.name}: ${res.stderr}`);
      assert.ok(readdirSync(join(work, m.name)).some((d) => d.startsWith("data.before-restore-")), "the old data is kept aside");
    }
    for (const m of members) start(m.name);
    await waitFor("restored quorum", healthy, 150, 200);
    for (let i = 0; i < 20; i++) assert.equal(etcdctl("get", `/k/${i}`, "--print-value-only").stdout.trim(), `v${i}`);
    assert.equal(etcdctl("get", "/after", "--print-value-only").stdout.trim(), "", "restored to the snapshot");
    assert.equal(etcdctl("put", "/writable", "yes").code, 0, "the restored quorum takes writes");
  } finally {
    await procs.stopAll();
    rmSync(work, { recursive: true, force: true });
    r.cleanup();
  }
});
