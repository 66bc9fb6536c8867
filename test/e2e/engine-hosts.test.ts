// `pulumi up` for real over SSH: the real Pulumi engine (Automation API, inline index.ts) with
// the command-provider stand-in (the real plugin cannot be built here; see the README) runs
// the program's remote commands on Debian hosts booted by systemd in nspawn containers.
// The spec has external etcd members on those hosts and one control plane that is not
// provisioned here (its steps need the Kubernetes server binaries): every operation excludes
// that host's resources and their dependents (`--exclude ... --exclude-dependents`).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { stringify } from "yaml";
import { ProcessGroup, runAsync, waitFor } from "../integration/helpers";
import { INSTALLED_DIR } from "../../hosts/install";
import { attachToLan, bootMachines, copyEtcdClient, createLan, ensureRootfs, HOST_SNAPSHOT, inNetns, Machine, makeSshDir, packEtcdRelease, removeLan, requireHostTools, servedEtcdFingerprint, startMirror, type Lan } from "./machines";
import { EngineStack, logTo, readLog } from "./engine";
import { ROOT } from "../helpers";
import { etcdctl } from "../../hosts/etcd";

// A test network range (RFC 2544), on a bridge this file creates.
const GATEWAY = "198.18.77.1";
const ENGINE_ADDRESS = "198.18.77.2";
const MIRROR_PORT = 8080;
const MACHINES = [1, 2, 3, 4, 5].map((i) => ({ name: `eng-${i}`, address: `198.18.77.${10 + i}` }));
/** In the spec, never provisioned here: see the header. */
const CONTROL_PLANE = { name: "eng-cp", address: "198.18.77.30", roles: ["controlPlane"] };
const EXCLUDE = { exclude: [`**${CONTROL_PLANE.name}**`], excludeDependents: true };

const log = (line: string) => process.stderr.write(`# engine e2e: ${line}\n`);
let workDir = "";
let lan: Lan | undefined;
let detach: (() => void) | undefined;
const machines: Machine[] = [];
const procs = new ProcessGroup();
let engine: EngineStack;
let logFile = "";
let specFile = "";
let spec: Record<string, any> = {};
const baseline = new Map<string, string>();

const byName = (name: string) => machines.find((m) => m.name === name)!;
const members = (count: number) => MACHINES.slice(0, count);

/** Hosts whose reprovision was raised (a user does that after reinstalling a machine). */
const reprovisions = new Map<string, number>();

function writeSpec(memberCount: number, extra: Record<string, unknown> = {}): void {
  spec = {
    ...spec,
    ...extra,
    infrastructure: {
      provider: "hosts",
      hosts: [...members(memberCount).map((m) => ({ ...m, roles: ["etcd"], ...(reprovisions.has(m.name) ? { reprovision: reprovisions.get(m.name) } : {}) })), CONTROL_PLANE],
      ssh: { user: "root" },
    },
  };
  writeFileSync(specFile, stringify(spec));
}

const endpoints = (count: number) => members(count).map((m) => `https://${m.address}:2379`).join(",");

/** The member list as a member sees it: "started eng-1" lines. */
async function memberList(count: number): Promise<string[]> {
  const out = await byName("eng-1").sshOk(etcdctl("member list -w simple", endpoints(count)));
  return out.trim().split("\n").map((l) => `${l.split(", ")[1]} ${l.split(", ")[2]}`).sort();
}

before(async () => {
  requireHostTools();
  workDir = mkdtempSync(join(process.env.DRYDOCK_E2E_WORK ?? "/var/tmp", "drydock-engine-hosts-"));
  const rootfs = ensureRootfs(log);
  lan = createLan(GATEWAY, 24, "dde-eng-lan");
  detach = attachToLan(lan, "dde-eng", ENGINE_ADDRESS);
  const ssh = makeSshDir(join(workDir, "ssh"));
  const mirrorDir = join(workDir, "mirror");
  mkdirSync(mirrorDir);
  const etcd = packEtcdRelease(workDir, mirrorDir, `http://${GATEWAY}:${MIRROR_PORT}`);
  await startMirror(procs, lan, mirrorDir, MIRROR_PORT);
  const booted = await bootMachines(MACHINES, { lan, rootfs, sshDir: ssh.dir, workDir });
  machines.push(...booted.machines);
  for (const [name, snapshot] of booted.baseline) baseline.set(name, snapshot);

  specFile = join(workDir, "cluster.yaml");
  spec = { name: "eng", etcd: { topology: "external", version: etcd.version }, artifacts: { overrides: [{ name: "etcd", version: etcd.version, url: etcd.url, sha256: etcd.sha256 }] } };
  writeSpec(3);
  logFile = join(workDir, "engine.log");
  const entry = require.resolve(join(ROOT, "index.ts"));
  engine = await EngineStack.create({
    workDir,
    stackName: "eng",
    log: logTo(logFile),
    program: async () => {
      delete require.cache[entry];
      return require(entry);
    },
  });
  await engine.setConfig({ "drydock:specFile": { value: specFile }, "drydock:sshPrivateKey": { value: ssh.privateKey, secret: true } });
});

after(async () => {
  await procs.stopAll();
  await Promise.all(machines.map((m) => m.destroy()));
  detach?.();
  removeLan(lan);
  if (workDir && !process.env.DRYDOCK_E2E_KEEP) rmSync(workDir, { recursive: true, force: true });
});

/** What a second run must not touch: installed files (inode, mtime) and running services (PID). */
const hostState = (m: Machine) =>
  m.sshOk(`stat -c '%n %i %Y %a %U' $(cat /usr/local/lib/drydock/files.list) /usr/local/bin/etcd; for u in etcd etcd-snapshot.timer; do systemctl show -p Id,MainPID,ActiveEnterTimestampMonotonic "$u"; done`);

test("pulumi preview of a new stack lists every resource to create (unknown values included)", { timeout: 600_000 }, async () => {
  const preview = await engine.preview({ ...EXCLUDE, diff: true });
  // "same" counts what --exclude leaves out (the control plane's resources).
  assert.deepEqual(Object.keys(preview.changeSummary).filter((k) => k !== "same"), ["create"], JSON.stringify(preview.changeSummary));
  assert.ok(preview.changeSummary.create! >= 30, `resources to create: ${preview.changeSummary.create}`);
});

test("pulumi up (the real engine) forms a three-member etcd quorum over mutual TLS on the hosts", { timeout: 900_000 }, async () => {
  const up = await engine.up(EXCLUDE);
  assert.equal(up.summary.result, "succeeded");
  const text = readLog(logFile);
  assert.match(text, /Resources:\n\s+\+ \d+ created/, "the engine's own summary");
  log(`first up: ${JSON.stringify(up.summary.resourceChanges)} in ${up.summary.endTime.getTime() - up.summary.startTime.getTime()} ms`);
  assert.deepEqual(await memberList(3), ["started eng-1", "started eng-2", "started eng-3"]);
  await byName("eng-1").sshOk(etcdctl("endpoint health", endpoints(3)));
  for (const m of members(3)) assert.equal((await byName(m.name).sshOk("systemctl is-active etcd")).trim(), "active");
  for (const m of MACHINES.slice(3)) assert.equal((await byName(m.name).sshOk(HOST_SNAPSHOT)), baseline.get(m.name), `${m.name} untouched`);
  assert.equal(up.outputs.adminKubeconfig?.secret, true, "the admin kubeconfig output is secret");
});

test("preview --expect-no-changes is clean, and a second up changes nothing on the hosts", { timeout: 900_000 }, async () => {
  await engine.preview({ ...EXCLUDE, expectNoChanges: true });
  const before = await Promise.all(members(3).map((m) => hostState(byName(m.name))));
  const up = await engine.up(EXCLUDE);
  assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"], JSON.stringify(up.summary.resourceChanges));
  assert.ok(up.summary.resourceChanges!.same! >= 30);
  const after = await Promise.all(members(3).map((m) => hostState(byName(m.name))));
  assert.deepEqual(after, before, "files keep inode and mtime, services keep their PIDs");
});

test("the exported state holds no private key in plain text; the SSH key is encrypted", { timeout: 120_000 }, async () => {
  const { text } = engine.exportState();
  assert.doesNotMatch(text, /PRIVATE KEY/);
  assert.doesNotMatch(text, /BEGIN OPENSSH/);
});

/** Writes keys under prefix from the lan until stopped; returns the acknowledged ones. */
function startWriter(prefix: string, count: () => number) {
  const acked: string[] = [];
  const ackedAt: number[] = [];
  let writing = true;
  const done = (async () => {
    const client = await lanClient();
    const deadline = Date.now() + 900_000;
    for (let i = 0; writing && i < 20_000 && Date.now() < deadline; i++) {
      const r = await runAsync(...inNetns(lan!.netns, "etcdctl", [`--endpoints=${endpoints(count())}`, `--cacert=${client}/ca.crt`, `--cert=${client}/healthcheck-client.crt`, `--key=${client}/healthcheck-client.key`, "--dial-timeout=1s", "--command-timeout=2s", "put", `${prefix}${i}`, "v"]), { timeoutMs: 10_000 });
      if (r.code === 0) {
        acked.push(`${prefix}${i}`);
        ackedAt.push(Date.now());
      }
      else await new Promise((res) => setTimeout(res, 200));
    }
  })();
  return {
    acked,
    /** The longest time between two acknowledged writes. */
    longestPauseMs: () => Math.max(0, ...ackedAt.slice(1).map((at, i) => at - ackedAt[i]!)),
    stop: async () => {
      writing = false;
      await done;
    },
  };
}

test("etcd members 3 → 5 → 3 through the spec while a writer writes: the diff names only the changed hosts, no acknowledged write is lost, removed hosts are reset", { timeout: 1_800_000 }, async () => {
  let memberCount = 3;
  const writer = startWriter("/engine/membership/", () => Math.min(memberCount, 3));
  try {
    await waitFor("the writer's first write", () => writer.acked.length > 0, 100, 200);

    writeSpec(5);
    const grow = await engine.plannedSteps(EXCLUDE);
    log(`preview of 3 → 5: ${JSON.stringify(grow.summary)}`);
    assert.deepEqual(grow.steps.filter((st) => st.op === "create" && !/eng-[45]/.test(st.name)), [], "only the new members' resources are created");
    assert.ok(grow.steps.filter((st) => st.op === "create").length >= 10, "the new members' certificates and phases");
    assert.deepEqual(grow.steps.filter((st) => st.op === "delete" || ((st.op === "replace" || st.op === "create-replacement") && st.oldDelete)), [], "nothing deleted; no replacement runs a delete (a reset)");
    const up5 = await engine.up(EXCLUDE);
    assert.equal(up5.summary.resourceChanges?.create, grow.summary.create);
    memberCount = 5;
    assert.deepEqual(await memberList(5), MACHINES.map((m) => `started ${m.name}`));

    writeSpec(3);
    memberCount = 3;
    const shrink = await engine.plannedSteps(EXCLUDE);
    log(`preview of 5 → 3: ${JSON.stringify(shrink.summary)}`);
    const deletes = shrink.steps.filter((st) => st.op === "delete");
    assert.deepEqual(deletes.filter((st) => !/eng-[45]/.test(st.name)), [], "only the leaving members' resources are deleted");
    assert.ok(deletes.some((st) => /eng-4-0-/.test(st.name)) && deletes.some((st) => /eng-5-0-/.test(st.name)), "their first phases (the reset) are deleted");
    assert.deepEqual(shrink.steps.filter((st) => st.op === "create" || ((st.op === "replace" || st.op === "create-replacement") && st.oldDelete)), [], "nothing created; no replacement runs a delete");
    const up3 = await engine.up(EXCLUDE);
    assert.equal(up3.summary.resourceChanges?.delete, shrink.summary.delete);
  } finally {
    await writer.stop();
  }

  assert.deepEqual(await memberList(3), ["started eng-1", "started eng-2", "started eng-3"]);
  const stored = (await byName("eng-1").sshOk(etcdctl("get /engine/membership/ --prefix --keys-only", endpoints(3)))).split("\n").filter(Boolean);
  assert.deepEqual(writer.acked.filter((k) => !stored.includes(k)), [], "every acknowledged write is stored");
  log(`membership: ${writer.acked.length} writes acknowledged`);
  for (const m of MACHINES.slice(3)) {
    const now = (await byName(m.name).sshOk(HOST_SNAPSHOT)).split("\n");
    const was = baseline.get(m.name)!.split("\n");
    assert.deepEqual({ left: now.filter((l) => !was.includes(l)), lost: was.filter((l) => !now.includes(l)) }, { left: [], lost: [] }, `${m.name} is reset`);
  }
});

/** When etcd last started on each member (the host kernel's monotonic clock, shared by every container). */
const etcdStarts = (count: number) => Promise.all(members(count).map(async (m) => Number((await byName(m.name).sshOk("systemctl show -p ExecMainStartTimestampMonotonic --value etcd")).trim())));

test("a new etcd build (a new SHA-256 in the override) restarts the members one at a time in member order while a writer writes: no acknowledged write lost, writes pause for seconds at most", { timeout: 1_200_000 }, async () => {
  const build = packEtcdRelease(workDir, join(workDir, "mirror"), `http://${GATEWAY}:${MIRROR_PORT}`, "2");
  writeSpec(3, { artifacts: { overrides: [{ name: "etcd", version: build.version, url: build.url, sha256: build.sha256 }] } });
  const plan = await engine.plannedSteps(EXCLUDE);
  assert.deepEqual(plan.steps.filter((st) => st.op === "create" || st.op === "delete" || st.oldDelete && st.op.includes("replace")), [], "a new build creates and deletes nothing, and replaces nothing with a delete");
  const before = await etcdStarts(3);
  const writer = startWriter("/engine/rolling/", () => 3);
  try {
    await waitFor("the writer's first write", () => writer.acked.length > 0, 100, 200);
    const up = await engine.up(EXCLUDE);
    assert.equal(up.summary.result, "succeeded");
  } finally {
    await writer.stop();
  }
  const after = await etcdStarts(3);
  for (const [i, m] of members(3).entries()) {
    assert.equal((await byName(m.name).ssh(`test -f ${INSTALLED_DIR}/etcd-${build.sha256}`)).code, 0, `${m.name} runs the new build`);
    assert.ok(after[i]! > before[i]!, `${m.name} restarted`);
    if (i > 0) assert.ok(after[i]! > after[i - 1]!, `${m.name} restarted after ${members(3)[i - 1]!.name}`);
  }
  const stored = (await byName("eng-1").sshOk(etcdctl("get /engine/rolling/ --prefix --keys-only", endpoints(3)))).split("\n").filter(Boolean);
  assert.deepEqual(writer.acked.filter((k) => !stored.includes(k)), [], "every acknowledged write is stored");
  log(`rolling restart: ${writer.acked.length} writes acknowledged, longest pause ${writer.longestPauseMs()} ms`);
  assert.ok(writer.longestPauseMs() < 5000, `writes paused ${writer.longestPauseMs()} ms`);
});

test("raising a host's reprovision runs exactly that host's phases again, and they change nothing on it", { timeout: 900_000 }, async () => {
  reprovisions.set("eng-2", 1);
  writeSpec(3);
  const plan = await engine.plannedSteps(EXCLUDE);
  assert.ok(plan.steps.length > 0 && plan.steps.every((st) => st.op === "update" && st.name.startsWith("eng-eng-2-")), `only eng-2's phases run again: ${plan.steps.map((st) => `${st.name} (${st.op})`).join(", ")}`);
  const before = await hostState(byName("eng-2"));
  const up = await engine.up(EXCLUDE);
  assert.equal(up.summary.resourceChanges?.update, plan.steps.length);
  assert.equal(await hostState(byName("eng-2")), before, "files keep inode and mtime, services keep their PIDs");
});

test("a member whose disk was lost (a reinstalled host, its reprovision raised) leaves and joins anew on the next up, with every key", { timeout: 900_000 }, async () => {
  const three = byName("eng-3");
  const memberId = async (name: string) => (await byName("eng-1").sshOk(etcdctl("member list -w simple", endpoints(3)))).split("\n").find((l) => l.split(", ")[2] === name)?.split(", ")[0];
  const idBefore = await memberId("eng-3");
  await three.sshOk("systemctl stop etcd && rm -rf /var/lib/etcd");
  for (let i = 0; i < 10; i++) await byName("eng-1").sshOk(etcdctl(`put /engine/lost/${i} v`, endpoints(2)));
  reprovisions.set("eng-3", 1);
  writeSpec(3);
  const up = await engine.up(EXCLUDE);
  assert.equal(up.summary.result, "succeeded");
  const idAfter = await memberId("eng-3");
  assert.ok(idAfter && idAfter !== idBefore, `eng-3 joined anew: ${idBefore} -> ${idAfter}`);
  assert.deepEqual(await memberList(3), ["started eng-1", "started eng-2", "started eng-3"]);
  const keys = async (m: Machine) => (await m.sshOk(`${etcdctl("get /engine/ --prefix --keys-only --consistency=s")} | grep -c /engine/ || true`)).trim();
  const expected = await keys(byName("eng-1"));
  await waitFor("eng-3 has every key", async () => (await keys(three)) === expected, 60, 1000);
});

/** The etcd client certificate the program delivered to eng-1, copied for clients on the lan. */
const lanClient = () => copyEtcdClient(byName("eng-1"), join(workDir, "etcd-client"));
const servedFingerprint = (address: string, client: string) => servedEtcdFingerprint(lan!, address, client);

test("a host unreachable mid-run fails the up (a rotation); the next up repairs it: every member serves its rotated certificate and nothing is left to do", { timeout: 1_800_000 }, async () => {
  const first = await lanClient();
  const before = await Promise.all(members(3).map((m) => servedFingerprint(m.address, first)));
  const three = byName("eng-3");
  await three.sshOk("systemctl stop ssh.socket ssh.service 2>/dev/null; systemctl stop ssh");
  writeSpec(3, { pki: { rotation: 1 } });
  await assert.rejects(engine.up(EXCLUDE), /eng-3|198\.18\.77\.13/, "the up fails on the unreachable host");
  await three.stop();
  three.start();
  await three.waitBooted();
  const repaired = await engine.up(EXCLUDE);
  assert.equal(repaired.summary.result, "succeeded");
  await engine.preview({ ...EXCLUDE, expectNoChanges: true });
  await byName("eng-1").sshOk(etcdctl("endpoint health", endpoints(3)));
  const client = await lanClient();
  for (const [i, m] of members(3).entries()) {
    const served = await servedFingerprint(m.address, client);
    const onDisk = new X509Certificate(await byName(m.name).sshOk("cat /etc/kubernetes/pki/etcd/server.crt")).fingerprint256;
    assert.notEqual(served, before[i], `${m.name} serves a new certificate`);
    assert.equal(served, onDisk, `${m.name} serves the certificate on its disk`);
  }
});

test("pulumi destroy removes the members one at a time and resets every host to how it was", { timeout: 900_000 }, async () => {
  // The control plane was never created: nothing of it to exclude.
  const destroyed = await engine.destroy();
  assert.equal(destroyed.summary.result, "succeeded");
  for (const m of machines) {
    const now = (await m.sshOk(HOST_SNAPSHOT)).split("\n");
    const was = baseline.get(m.name)!.split("\n");
    assert.deepEqual({ left: now.filter((l) => !was.includes(l)), lost: was.filter((l) => !now.includes(l)) }, { left: [], lost: [] }, `${m.name} is as it was before drydock`);
  }
  const { resources } = engine.exportState();
  assert.deepEqual(resources.filter((r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack"), []);
});
