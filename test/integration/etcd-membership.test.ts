// etcd membership 3 → 5 → 3 with the rendered join and leave scripts, on real
// etcd processes (loopback addresses), while a writer keeps writing: every
// acknowledged write is readable at the end and writes never stop for long.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { planAddresses, type PlannedHost } from "../../spec/addresses";
import { certificateInventory } from "../../pki/inventory";
import { issuePki } from "../../pki/issue";
import { etcdConfig, etcdMembers } from "../../hosts/etcd";
import { JOIN_SCRIPT, joinScript, leaveScript } from "../../hosts/etcd-membership";
import { renderCluster } from "../../hosts/render";
import { ProcessGroup, requireBinaries, run, waitFor, writeLocalEtcdConfig, hostsSpec } from "./helpers";

before(() => requireBinaries("etcd", "etcdctl"));

const BASE = 110;
function specWith(members: number) {
  return hostsSpec({
    name: "members",
    hosts: [
      ...Array.from({ length: members }, (_, i) => ({ name: `etcd-${i + 1}`, address: `127.0.0.${BASE + i + 1}`, roles: ["etcd"] })),
      { name: "cp-1", address: `127.0.0.${BASE + 9}`, roles: ["controlPlane"] },
    ],
  });
}

function etcdctlAsync(args: string[], pkiDir: string, endpoints: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn("etcdctl", [`--endpoints=${endpoints}`, `--cacert=${pkiDir}/ca.crt`, `--cert=${pkiDir}/healthcheck-client.crt`, `--key=${pkiDir}/healthcheck-client.key`, "--dial-timeout=2s", "--command-timeout=3s", ...args], { env: { ...process.env, ETCDCTL_API: "3" }, stdio: "ignore" });
    child.on("close", resolve);
  });
}

test("3 → 5 → 3 members, one change at a time, with writes flowing throughout", async () => {
  const spec3 = specWith(3);
  const spec5 = specWith(5);
  // One PKI for both specs, as one stack keeps it.
  const material = issuePki(certificateInventory(spec5, planAddresses(spec5)), null);
  const tree3 = renderCluster(spec3, { material });
  const tree5 = renderCluster(spec5, { material });
  const work = mkdtempSync(join(tmpdir(), "drydock-members-"));
  const procs = new ProcessGroup();
  const started = new Map<string, ReturnType<ProcessGroup["start"]>>();
  const members5 = etcdMembers(planAddresses(spec5).hosts);
  const fileOf = (tree: ReturnType<typeof renderCluster>, host: string, path: string) => tree.files.find((f) => f.path === `hosts/${host}${path}`)!.content;
  const pkiDir = join(work, "pki");
  mkdirSync(pkiDir, { recursive: true });
  for (const f of ["ca.crt", "healthcheck-client.crt", "healthcheck-client.key"]) writeFileSync(join(pkiDir, f), fileOf(tree5, "etcd-1", `/etc/kubernetes/pki/etcd/${f}`), { mode: 0o600 });
  const memberDir = (m: PlannedHost) => join(work, m.name);
  const writeMember = (m: PlannedHost, tree: ReturnType<typeof renderCluster>, members: readonly PlannedHost[]) => {
    mkdirSync(join(memberDir(m), "pki"), { recursive: true });
    for (const f of ["ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"]) writeFileSync(join(memberDir(m), "pki", f), fileOf(tree, m.name, `/etc/kubernetes/pki/etcd/${f}`), { mode: 0o600 });
    const rendered = parse(fileOf(tree, m.name, "/etc/etcd/etcd.conf.yml"));
    assert.deepEqual(rendered, etcdConfig(tree === tree3 ? spec3 : spec5, m, members));
    writeLocalEtcdConfig(tree === tree3 ? spec3 : spec5, m, members, join(memberDir(m), "pki"), memberDir(m));
  };
  const start = (m: PlannedHost, config = "etcd.conf.yml") => started.set(m.name, procs.start("etcd", [`--config-file=${join(memberDir(m), config)}`]));
  const all = members5.map((m) => `https://${m.address}:2379`).join(",");
  const memberNames = () => {
    const r = run("etcdctl", [`--endpoints=${all}`, `--cacert=${pkiDir}/ca.crt`, `--cert=${pkiDir}/healthcheck-client.crt`, `--key=${pkiDir}/healthcheck-client.key`, "--dial-timeout=1s", "member", "list", "-w", "simple"], { env: { ...process.env, ETCDCTL_API: "3" } });
    return r.stdout.trim().split("\n").filter(Boolean).map((l) => `${l.split(", ")[1]}:${l.split(", ")[2]}`).sort();
  };
  // Asynchronous: a blocking call would stall the writer in this same process.
  const runScript = (script: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", script], { env: { ...process.env, ...env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  const acked: { key: string; at: number }[] = [];
  const events: { what: string; at: number }[] = [];
  const event = (what: string) => events.push({ what, at: Date.now() });
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  try {
    const first3 = members5.slice(0, 3);
    for (const m of first3) {
      writeMember(m, tree3, first3);
      start(m);
    }
    await waitFor("3 members started", () => memberNames().join() === "started:etcd-1,started:etcd-2,started:etcd-3", 150, 200);
    // Writer: bounded in count and time, records every acknowledged write. It talks to
    // the three members present throughout, so pauses measure the cluster, not a
    // one-shot client dialing a member that has not started yet or has left.
    const stable = first3.map((m) => `https://${m.address}:2379`).join(",");
    writer = (async () => {
      for (let i = 0; writing && i < 5000; i++) {
        const code = await etcdctlAsync(["put", `/w/${i}`, `${i}`], pkiDir, stable);
        if (code === 0) acked.push({ key: `/w/${i}`, at: Date.now() });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor("writes flowing", () => acked.length >= 5, 100, 100);

    for (const m of members5.slice(3)) {
      writeMember(m, tree5, members5);
      const join_ = fileOf(tree5, m.name, JOIN_SCRIPT);
      assert.equal(join_, joinScript(m, members5.filter((x) => x !== m)));
      event(`join ${m.name}`);
      const res = await runScript(join_, { ETCD_CONFIG: join(memberDir(m), "etcd.conf.yml"), ETCD_EFFECTIVE_CONFIG: join(memberDir(m), "etcd.effective.yml"), ETCD_DATA_DIR: join(memberDir(m), "data"), ETCD_PKI_DIR: pkiDir });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`${m.name} joins the running cluster`));
      assert.match(readFileSync(join(memberDir(m), "etcd.effective.yml"), "utf8"), /initial-cluster-state: existing/);
      assert.match(readFileSync(join(memberDir(m), "etcd.conf.yml"), "utf8"), /initial-cluster-state: new/, "the rendered config is left as rendered");
      event(`start ${m.name}`);
      start(m, "etcd.effective.yml");
      await waitFor(`${m.name} started`, () => memberNames().includes(`started:${m.name}`), 150, 200);
    }
    assert.equal(memberNames().length, 5);
    const during = acked.length;

    for (const m of [...members5.slice(3)].reverse()) {
      event(`remove ${m.name}`);
      const res = await runScript(leaveScript(m, members5.filter((x) => x !== m)), { ETCD_PKI_DIR: pkiDir });
      assert.equal(res.code, 0, res.stderr);
      event(`stop ${m.name}`);
      await procs.stop(started.get(m.name)!);
    }
    assert.deepEqual(memberNames(), ["started:etcd-1", "started:etcd-2", "started:etcd-3"]);
    await waitFor("writes after shrinking", () => acked.length >= during + 10, 100, 100);
    writing = false;
    await writer;
    // Every acknowledged write is there, and writes never paused for long.
    const endpoints3 = members5.slice(0, 3).map((m) => `https://${m.address}:2379`).join(",");
    const dump = run("etcdctl", [`--endpoints=${endpoints3}`, `--cacert=${pkiDir}/ca.crt`, `--cert=${pkiDir}/healthcheck-client.crt`, `--key=${pkiDir}/healthcheck-client.key`, "get", "/w/", "--prefix", "--keys-only"], { env: { ...process.env, ETCDCTL_API: "3" } });
    const present = new Set(dump.stdout.split("\n").filter(Boolean));
    const missing = acked.filter((a) => !present.has(a.key)).map((a) => a.key);
    assert.deepEqual(missing, [], "every acknowledged write survives");
    const gaps = acked.slice(1).map((a, i) => a.at - acked[i]!.at);
    const worst = gaps.indexOf(Math.max(...gaps));
    const around = events.filter((e) => e.at >= acked[worst]!.at - 3000 && e.at <= acked[worst + 1]!.at).map((e) => `${e.what} +${e.at - acked[worst]!.at}ms`);
    const elections = [...procs.logs.values()].flatMap((log) => log.split("\n").filter((l) => /elected leader|lost leader|became candidate|unhealthy|rejected/.test(l)).map((l) => l.slice(0, 220)));
    assert.ok(Math.max(...gaps) < 5000, `longest pause between acknowledged writes: ${Math.max(...gaps)} ms, around: ${around.join(", ")}\n${elections.join("\n")}`);
    assert.ok(acked.length > 20, `writes acknowledged: ${acked.length}`);
  } finally {
    writing = false;
    await writer;
    await procs.stopAll();
    rmSync(work, { recursive: true, force: true });
  }
});
