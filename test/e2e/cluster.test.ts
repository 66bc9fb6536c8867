// End to end without a cloud: the real index.ts, under Pulumi's mock runtime,
// with every remote command run over SSH on Debian hosts booted by systemd in
// containers. Proves an etcd quorum formed by the program's own steps, the
// keepalived + haproxy endpoint surviving the loss of a host, idempotent
// re-runs and the reset on delete. Fails (never skips) if hosts cannot boot.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ProcessGroup, run, runAsync, waitFor } from "../integration/helpers";
import { resolveOutput, runIndex, stateOf, type ProgramRun } from "../program/harness";
import { bootMachines, copyEtcdClient, createLan, ensureRootfs, HOST_SNAPSHOT, inNetns, Machine, makeSshDir, packEtcdRelease, requireHostTools, servedEtcdFingerprint, startMirror, type Lan } from "./machines";
import { RemoteExecutor, UNRUNNABLE_STEPS } from "./remote";
import { etcdctl } from "../../hosts/etcd";

const GATEWAY = "10.213.0.1";
const VIP = "10.213.0.100";
const ENDPOINT_PORT = 8443;
const MIRROR_PORT = 8080;
const HOSTS = [
  { name: "e2e-1", address: "10.213.0.11" },
  { name: "e2e-2", address: "10.213.0.12" },
  { name: "e2e-3", address: "10.213.0.13" },
];

const log = (line: string) => process.stderr.write(`# e2e: ${line}\n`);
let workDir = "";
let lan: Lan;
const machines: Machine[] = [];
const procs = new ProcessGroup();
let config: Record<string, string> = {};
let clusterSpec: Record<string, any> = {};
let mirrorRoot = "";
let firstRun: ProgramRun;
let firstExecutor: RemoteExecutor;
/** Per host, before drydock touched it: what a reset must return to. */
const baseline = new Map<string, string>();

const byName = (name: string) => machines.find((m) => m.name === name)!;

const packEtcd = (mirrorDir: string, build = "1") => packEtcdRelease(workDir, mirrorDir, `http://${GATEWAY}:${MIRROR_PORT}`, build);

/** Keys under /e2e/ as the quorum sees them. */
async function keyCount(): Promise<number> {
  return Number((await etcdctlOn(byName("e2e-1"), `get /e2e/ --prefix --keys-only | grep -c /e2e/`, endpoints())).trim());
}

/** etcdctl on a host as drydock's own steps run it (the member's healthcheck client certificate). */
async function etcdctlOn(machine: Machine, args: string, endpointList?: string): Promise<string> {
  return machine.sshOk(etcdctl(args, endpointList));
}

const endpoints = (hosts = HOSTS) => hosts.map((h) => `https://${h.address}:2379`).join(",");

async function vipHolder(): Promise<Machine | undefined> {
  for (const m of machines.filter((x) => x.running)) {
    const r = await m.ssh("ip -o -4 addr show dev eth0");
    if (r.stdout.includes(` ${VIP}/`)) return m;
  }
  return undefined;
}

async function kubectlThroughVip(kubeconfig: string): Promise<{ ok: boolean; out: string }> {
  const r = await runAsync(...inNetns(lan.netns, "kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=5s", "get", "--raw", "/readyz"]), { timeoutMs: 20_000 });
  return { ok: r.code === 0 && r.stdout.trim() === "ok", out: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * One `pulumi up`: against the state the previous run left, commands run as the engine
 * would run them (created, updated, replaced with the old delete after, or left alone).
 * Program runs take a while; the executor's own failure lines are the useful message.
 */
let lastRun: ProgramRun | undefined;
async function runProgram(executor: RemoteExecutor): Promise<ProgramRun> {
  try {
    lastRun = await runIndex(config, { remoteCommand: executor.run, remoteDelete: executor.deleteReplaced, ...(lastRun ? { priorState: stateOf(lastRun) } : {}) });
    return lastRun;
  } finally {
    assert.deepEqual(executor.failures, [], "every remote command succeeds");
  }
}

/** What a user does after reinstalling machines (or to provision them again): raise their reprovision. */
function reprovision(names: readonly string[]): number[] {
  const counts = names.map((name) => {
    const host = clusterSpec.infrastructure.hosts.find((h: { name: string }) => h.name === name);
    host.reprovision = (host.reprovision ?? 0) + 1;
    return host.reprovision as number;
  });
  writeFileSync(config["drydock:specFile"]!, stringify(clusterSpec));
  return counts;
}

before(async () => {
  requireHostTools();
  workDir = mkdtempSync(join(process.env.DRYDOCK_E2E_WORK ?? "/var/tmp", "drydock-e2e-"));
  const rootfs = ensureRootfs(log);
  lan = createLan(GATEWAY, 24);
  const ssh = makeSshDir(join(workDir, "ssh"));

  const mirrorDir = join(workDir, "mirror");
  mkdirSync(mirrorDir);
  mirrorRoot = mirrorDir;
  const etcd = packEtcd(mirrorDir);
  await startMirror(procs, lan, mirrorDir, MIRROR_PORT);
  const booted = await bootMachines(HOSTS, { lan, rootfs, sshDir: ssh.dir, workDir });
  machines.push(...booted.machines);
  for (const [name, snapshot] of booted.baseline) baseline.set(name, snapshot);

  const spec = {
    name: "e2e",
    network: { cni: "flannel" },
    etcd: { version: etcd.version },
    artifacts: { overrides: [{ name: "etcd", version: etcd.version, url: etcd.url, sha256: etcd.sha256 }] },
    infrastructure: {
      provider: "hosts",
      hosts: HOSTS.map((h) => ({ ...h, roles: ["controlPlane", "etcd"] })),
      ssh: { user: "root" },
      apiEndpoint: { vip: VIP },
    },
  };
  clusterSpec = spec;
  const specFile = join(workDir, "cluster.yaml");
  writeFileSync(specFile, stringify(spec));
  config = { "drydock:specFile": specFile, "drydock:sshPrivateKey": ssh.privateKey };
});

after(async () => {
  await procs.stopAll();
  await Promise.all(machines.map((m) => m.destroy()));
  run("ip", ["netns", "del", lan?.netns ?? "dde-lan"]);
  if (workDir && !process.env.DRYDOCK_E2E_KEEP) rmSync(workDir, { recursive: true, force: true });
});

test("the program's own remote steps bring the hosts up, in dependency order, skipping only what cannot run here", async () => {
  firstExecutor = new RemoteExecutor(lan.netns, workDir);
  firstRun = await runProgram(firstExecutor);
  const ran = firstExecutor.executed.flatMap((c) => c.ran);
  const skipped = firstExecutor.executed.flatMap((c) => c.skipped);
  log(`ran ${firstExecutor.executed.length} remote commands: ${ran.length} steps; skipped ${skipped.length}: ${[...new Set(skipped.map((s) => s.split("/")[1]))].join(", ")}`);
  for (const h of HOSTS) {
    for (const step of ["install-etcd", "etcd-start", "etcd-healthy", "etcd-snapshots", "api-load-balancer"]) assert.ok(ran.includes(`${h.name}/${step}`), `${h.name}/${step} ran`);
  }
  // Nothing skipped but the listed steps, and every listed step exists.
  assert.deepEqual([...new Set(skipped.map((s) => s.split("/")[1]))].sort(), Object.keys(UNRUNNABLE_STEPS).sort());
  // Each host's first command is its first phase (which also writes its files), and
  // every etcd member was started before any member was checked healthy.
  const order = firstExecutor.executed.map((c) => c.name);
  for (const h of HOSTS) assert.match(order.find((n) => n.startsWith(`e2e-${h.name}-`))!, new RegExp(`^e2e-${h.name}-0-`));
  const lastStart = Math.max(...HOSTS.map((h) => order.indexOf(`e2e-${h.name}-0-install-etcd`)));
  const firstHealthy = Math.min(...HOSTS.map((h) => order.findIndex((n) => n.startsWith(`e2e-${h.name}-1-`))));
  assert.ok(lastStart < firstHealthy, `etcd started on every host before any health phase: ${order.join(", ")}`);
});

test("etcd: a three-member quorum formed by systemd, healthy over mutual TLS", async () => {
  const members = await etcdctlOn(byName("e2e-1"), `member list -w simple`, endpoints());
  assert.deepEqual(members.trim().split("\n").map((l) => l.split(", ")[2]).sort(), HOSTS.map((h) => h.name));
  for (const m of machines) assert.equal((await m.sshOk("systemctl is-active etcd")).trim(), "active");
  // etcdctl exits non-zero unless every endpoint is healthy (3.4 prints health on stderr).
  await etcdctlOn(byName("e2e-1"), `endpoint health`, endpoints());
  // Without a client certificate the members refuse clients.
  const anonymous = await byName("e2e-2").ssh(`ETCDCTL_API=3 /usr/local/bin/etcdctl --cacert=/etc/kubernetes/pki/etcd/ca.crt --endpoints=https://${HOSTS[0]!.address}:2379 --dial-timeout=3s --command-timeout=5s get x`);
  assert.notEqual(anonymous.code, 0);
  // The snapshot timer the program installed is armed on every member.
  for (const m of machines) assert.match(await m.sshOk("systemctl list-timers --all --no-legend"), /etcd-snapshot/);
});

test("etcd: writes continue with one member stopped; a powered-off host rejoins with the data", async () => {
  const one = byName("e2e-1");
  const put = async (key: string) => etcdctlOn(one, `put ${key} v`, endpoints());
  for (let i = 0; i < 10; i++) await put(`/e2e/before/${i}`);

  await byName("e2e-3").sshOk("systemctl stop etcd");
  for (let i = 0; i < 10; i++) await put(`/e2e/member-stopped/${i}`);
  await byName("e2e-3").sshOk("systemctl start etcd");

  const two = byName("e2e-2");
  await two.stop();
  for (let i = 0; i < 10; i++) await put(`/e2e/host-off/${i}`);
  two.start();
  await two.waitBooted();

  for (const name of ["e2e-2", "e2e-3"]) {
    const m = byName(name);
    let count = "";
    await waitFor(`${name} to catch up`, async () => {
      // A serializable read answers from this member's own data.
      const r = await m.ssh(`${etcdctl("get /e2e/ --prefix --keys-only --consistency=s")} | grep -c /e2e/`);
      count = r.stdout.trim();
      return count === "30";
    }, 60, 1000).catch((e) => assert.fail(`${e.message}: has ${count} of 30 keys`));
  }
  assert.equal((await two.sshOk("systemctl is-active etcd")).trim(), "active", "etcd starts at boot");
});

test("the API endpoint: keepalived holds the VIP, haproxy forwards to each control-plane host, and the VIP moves when its holder goes down", async () => {
  // A TLS stand-in for kube-apiserver on each control-plane host, with the files the program delivered there.
  for (const m of machines) {
    const dir = join(workDir, m.name, "standin");
    mkdirSync(dir, { recursive: true });
    for (const f of ["apiserver.crt", "apiserver.key", "ca.crt"]) writeFileSync(join(dir, f), await m.sshOk(`cat /etc/kubernetes/pki/${f}`), { mode: 0o600 });
    procs.start(...inNetns(m.netns, process.execPath, ["--import", "tsx", join(__dirname, "standin-main.ts"), m.address, "6443", join(dir, "apiserver.crt"), join(dir, "apiserver.key"), join(dir, "ca.crt"), m.name]));
  }
  const kubeconfig = join(workDir, "admin.conf");
  writeFileSync(kubeconfig, (await resolveOutput(firstRun.exports.adminKubeconfig as any)).value as string, { mode: 0o600 });
  assert.match(readFileSync(kubeconfig, "utf8"), new RegExp(`server: https://${VIP.replace(/\./g, "\\.")}:${ENDPOINT_PORT}`));

  let last = { ok: false, out: "" };
  await waitFor("/readyz through the VIP", async () => (last = await kubectlThroughVip(kubeconfig)).ok, 30, 1000).catch((e) => assert.fail(`${e.message}: ${last.out}`));
  const holder = await vipHolder();
  assert.ok(holder, "one host holds the VIP");

  const lostAt = Date.now();
  await holder.stop();
  let next: Machine | undefined;
  await waitFor("the VIP to move", async () => (next = await vipHolder()) !== undefined && next !== holder, 30, 500);
  await waitFor("/readyz through the VIP again", async () => (last = await kubectlThroughVip(kubeconfig)).ok, 20, 500).catch((e) => assert.fail(`${e.message}: ${last.out}`));
  log(`VIP moved from ${holder.name} to ${next!.name}; the API answered again after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);

  holder.start();
  await holder.waitBooted();
  await waitFor("etcd back on the restarted host", async () => (await holder.ssh("systemctl is-active etcd")).stdout.trim() === "active", 60, 1000);
});

test("running the program again runs nothing; running every phase again changes nothing on the hosts", async () => {
  const snapshot = async (m: Machine) =>
    m.sshOk(`stat -c '%n %i %Y %a %U' $(cat /usr/local/lib/drydock/files.list) /usr/local/bin/etcd; for u in etcd haproxy keepalived etcd-snapshot.timer; do systemctl show -p Id,MainPID,ActiveEnterTimestampMonotonic "$u"; done`);
  const before = await Promise.all(machines.map(snapshot));
  const idle = new RemoteExecutor(lan.netns, workDir);
  await runProgram(idle);
  assert.deepEqual(idle.executed.map((c) => c.name), [], "nothing changed: no command runs");
  // Every phase of every host again (reprovision raised): the steps themselves change nothing.
  reprovision(HOSTS.map((h) => h.name));
  const executor = new RemoteExecutor(lan.netns, workDir);
  await runProgram(executor);
  const phases = (e: RemoteExecutor) => e.executed.map((c) => c.name).filter((n) => !n.endsWith("-etcd-leave")).sort();
  assert.deepEqual(phases(executor), phases(firstExecutor), "every phase ran again");
  const after = await Promise.all(machines.map(snapshot));
  machines.forEach((m, i) => assert.equal(after[i], before[i], `${m.name} unchanged`));
});

/** etcdctl from the lan with a client certificate the program delivered (the first run's). */
async function lanEtcdctl(): Promise<(args: string[]) => ReturnType<typeof runAsync>> {
  const client = await copyEtcdClient(byName("e2e-1"), join(workDir, "etcd-client"));
  return (args) =>
    runAsync(...inNetns(lan.netns, "etcdctl", [`--endpoints=${endpoints()}`, `--cacert=${client}/ca.crt`, `--cert=${client}/healthcheck-client.crt`, `--key=${client}/healthcheck-client.key`, "--dial-timeout=1s", "--command-timeout=2s", ...args]), { timeoutMs: 15_000 });
}

/**
 * Runs the program once more while a writer keeps writing under a prefix, and checks what
 * a rolling restart must keep: members restarted in member order, every acknowledged write
 * stored, and no pause longer than a leader election plus one client timeout (a put that
 * went to the member restarting gives up after 2 s).
 */
async function rollingRunUnderWrites(prefix: string): Promise<{ acked: number; longestPauseMs: number; executor: RemoteExecutor }> {
  const etcdctl = await lanEtcdctl();
  const acked: { key: string; at: number }[] = [];
  let writing = true;
  const writer = (async () => {
    const deadline = Date.now() + 600_000;
    for (let i = 0; writing && i < 5000 && Date.now() < deadline; i++) {
      const key = `${prefix}${i}`;
      if ((await etcdctl(["put", key, "v"])).code === 0) acked.push({ key, at: Date.now() });
      else await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const started = async () => Promise.all(machines.map(async (m) => Number((await m.sshOk("systemctl show -p ActiveEnterTimestampMonotonic --value etcd")).trim())));
  const before = await started();
  const executor = new RemoteExecutor(lan.netns, workDir);
  await runProgram(executor);
  await waitFor("writes after the run", () => acked.length > 0 && Date.now() - acked[acked.length - 1]!.at < 2000, 50, 200);
  writing = false;
  await writer;

  const after = await started();
  machines.forEach((m, i) => assert.ok(after[i]! > before[i]!, `${m.name} restarted`));
  assert.ok(after[0]! < after[1]! && after[1]! < after[2]!, `in member order: ${after.join(" < ")}`);
  const gaps = acked.slice(1).map((a, i) => a.at - acked[i]!.at);
  assert.ok(Math.max(...gaps) < 5000, `longest pause in writes ${Math.max(...gaps)} ms`);
  const stored = (await etcdctl(["get", prefix, "--prefix", "--keys-only"])).stdout.split("\n").filter(Boolean);
  assert.deepEqual(acked.map((a) => a.key).filter((k) => !stored.includes(k)), []);
  // Nothing with a delete (a host's reset) was replaced.
  assert.deepEqual(executor.replacedDeletes, []);
  return { acked: acked.length, longestPauseMs: Math.max(...gaps), executor };
}

test("a new etcd build restarts the members one at a time, each healthy before the next, while writes continue", async () => {
  const build = packEtcd(mirrorRoot, "2");
  clusterSpec.artifacts.overrides[0] = { name: "etcd", version: build.version, url: build.url, sha256: build.sha256 };
  writeFileSync(config["drydock:specFile"]!, stringify(clusterSpec));
  const { acked, longestPauseMs } = await rollingRunUnderWrites("/e2e/rolling/");
  for (const m of machines) assert.equal((await m.ssh(`test -f /usr/local/lib/drydock/installed/etcd-${build.sha256}`)).code, 0, `${m.name} has the new build`);
  log(`rolling restart: ${acked} writes acknowledged, longest pause ${longestPauseMs} ms`);
});

test("a member whose disk was lost (a replaced machine) leaves and joins anew on the next run, with every key", async () => {
  const three = byName("e2e-3");
  const one = byName("e2e-1");
  const memberId = async (name: string) => (await etcdctlOn(one, `member list -w simple`, endpoints())).split("\n").find((l) => l.split(", ")[2] === name)?.split(", ")[0];
  const before = await memberId("e2e-3");
  await three.sshOk("systemctl stop etcd && rm -rf /var/lib/etcd");
  for (let i = 0; i < 10; i++) await etcdctlOn(one, `put /e2e/replaced/${i} v`, endpoints(HOSTS.slice(0, 2)));

  reprovision(["e2e-3"]);
  await runProgram(new RemoteExecutor(lan.netns, workDir));
  const after = await memberId("e2e-3");
  assert.ok(after && after !== before, `e2e-3 joined anew: ${before} -> ${after}`);
  const members = (await etcdctlOn(one, `member list -w simple`, endpoints())).trim().split("\n");
  assert.deepEqual(members.map((l) => `${l.split(", ")[1]} ${l.split(", ")[2]}`).sort(), HOSTS.map((h) => `started ${h.name}`));
  let count = "";
  await waitFor("e2e-3 has every key", async () => {
    const r = await three.ssh(`${etcdctl("get /e2e/ --prefix --keys-only --consistency=s")} | grep -c /e2e/`);
    count = r.stdout.trim();
    return r.code === 0 && count === String(await keyCount());
  }, 60, 1000).catch((e) => assert.fail(`${e.message}: has ${count}`));
});

test("a control-plane host replaced (reset to bare, provisioned again by the next run) while the API keeps answering through the VIP", async () => {
  const kubeconfig = join(workDir, "admin.conf");
  const host = await vipHolder();
  assert.ok(host, "one host holds the VIP");
  // The API through the VIP, polled throughout: bounded in count and time.
  const outages: number[] = [];
  let polling = true;
  const poller = (async () => {
    let downSince: number | null = null;
    for (let i = 0; polling && i < 2000; i++) {
      const ok = (await kubectlThroughVip(kubeconfig)).ok;
      if (!ok && downSince === null) downSince = Date.now();
      if (ok && downSince !== null) {
        outages.push(Date.now() - downSince);
        downSince = null;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (downSince !== null) outages.push(Number.POSITIVE_INFINITY);
  })();

  // The program's own reset (the host's first phase's delete), as if the machine were replaced.
  const reset = firstExecutor.executed.find((c) => c.name.startsWith(`e2e-${host.name}-0-`))!;
  const wiped = await firstExecutor.exec(reset.connection, reset.delete!, "");
  assert.equal(wiped.code, 0, wiped.stderr);
  assert.notEqual((await host.ssh("test -e /etc/etcd/etcd.conf.yml")).code, 0, "the host is bare");
  const [count] = reprovision([host.name]);
  const executor = new RemoteExecutor(lan.netns, workDir);
  await runProgram(executor);
  const ranOn = executor.executed.filter((c) => !c.name.endsWith("-etcd-leave"));
  assert.ok(ranOn.length > 0 && ranOn.every((c) => c.name.startsWith(`e2e-${host.name}-`) && c.command === `sudo -n bash -s # reprovision ${count}`), ranOn.map((c) => `${c.name}: ${c.command}`).join("; "));
  polling = false;
  await poller;

  for (const unit of ["etcd", "haproxy", "keepalived"]) assert.equal((await host.sshOk(`systemctl is-active ${unit}`)).trim(), "active", `${unit} on ${host.name}`);
  const members = (await etcdctlOn(byName("e2e-1"), `member list -w simple`, endpoints())).trim().split("\n");
  assert.deepEqual(members.map((l) => `${l.split(", ")[1]} ${l.split(", ")[2]}`).sort(), HOSTS.map((h) => `started ${h.name}`));
  assert.ok(Math.max(0, ...outages) < 10_000, `the API through the VIP was unavailable for ${outages.join(", ")} ms`);
  log(`replaced ${host.name}: API outages through the VIP ${outages.length ? outages.join(", ") + " ms" : "none"}`);
});

test("certificate rotation (pki.rotation): etcd members serve their new certificates, restarted one at a time under writes; unchanged files stay untouched", async () => {
  const served = (h: (typeof HOSTS)[number]) => servedEtcdFingerprint(lan, h.address, join(workDir, "etcd-client"));
  const onDisk = async (m: Machine) => new X509Certificate(await m.sshOk("cat /etc/kubernetes/pki/etcd/server.crt")).fingerprint256;
  const STAGED = "/etc/kubernetes/drydock/static-pods/kube-scheduler.yaml";
  const untouched = (m: Machine) => m.sshOk(`stat -c '%i %Y' ${STAGED} /etc/haproxy/haproxy.cfg /etc/etcd/etcd.conf.yml`);
  // The static pods' installer (its step needs a kubelet, cut here): run by hand around the rotation.
  const podDigests = async (m: Machine) => {
    await m.sshOk("bash /usr/local/lib/drydock/static-pods.sh install 2>/dev/null");
    return m.sshOk("grep -h 'drydock.dev/inputs-sha256' /etc/kubernetes/manifests/kube-*.yaml");
  };
  await lanEtcdctl();
  const before = await Promise.all(HOSTS.map(served));
  const files = await Promise.all(machines.map(untouched));
  const pods = await Promise.all(machines.map(podDigests));

  clusterSpec.pki = { rotation: 1 };
  writeFileSync(config["drydock:specFile"]!, stringify(clusterSpec));
  const { acked, longestPauseMs } = await rollingRunUnderWrites("/e2e/rotation/");

  const after = await Promise.all(HOSTS.map(served));
  for (const [i, m] of machines.entries()) {
    assert.notEqual(after[i], before[i], `${m.name} serves a new certificate`);
    assert.equal(after[i], await onDisk(m), `${m.name} serves the certificate on its disk`);
    assert.equal(await untouched(m), files[i], `${m.name}: files the rotation did not change were not rewritten`);
    const digests = (await podDigests(m)).split("\n").filter(Boolean);
    const was = pods[i]!.split("\n").filter(Boolean);
    assert.equal(digests.length, 3);
    digests.forEach((d, k) => assert.notEqual(d, was[k], `${m.name}: each static pod reads a reissued certificate or kubeconfig: restarted`));
  }
  log(`rotation: ${acked} writes acknowledged, longest pause ${longestPauseMs} ms`);
});

test("the delete path removes etcd members and resets every host to how it was before drydock", async () => {
  const results = await firstExecutor.destroy();
  for (const r of results) assert.equal(r.code, 0, `${r.name} delete: ${r.stderr}`);
  // Members leave one at a time through a member that stays, until one is left.
  const removed = results.filter((r) => r.name.endsWith("-etcd-leave") && /removed etcd member/.test(r.stdout));
  assert.equal(removed.length, HOSTS.length - 1, results.map((r) => `${r.name}: ${r.stdout}${r.stderr}`).join("\n"));
  const resets = results.filter((r) => /-0-[a-z-]+$/.test(r.name));
  assert.equal(resets.length, HOSTS.length, "each host's first phase resets it");
  assert.ok(results.findIndex((r) => r.name.endsWith("-etcd-leave")) < results.indexOf(resets[0]!), "members leave before any host is reset");
  for (const m of machines) {
    const now = (await m.sshOk(HOST_SNAPSHOT)).split("\n");
    const was = baseline.get(m.name)!.split("\n");
    const left = now.filter((l) => !was.includes(l));
    const lost = was.filter((l) => !now.includes(l));
    assert.deepEqual({ left, lost }, { left: [], lost: [] }, `${m.name} is as it was before drydock`);
  }
});
