// Provisioning in the program: every remote command's host, dependencies and secrets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpecFile, requireSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { EXAMPLES_DIR, hostsBase } from "../helpers";
import { commandOperation, isSecretValue, REMOTE_COMMAND, runIndex, stateOf, unwrapSecrets, type ProgramRun } from "./harness";

const COMMAND = REMOTE_COMMAND;
const commands = (run: ProgramRun) => run.resources.filter((r) => r.type === COMMAND);
const deps = (run: ProgramRun, name: string) => run.dependsOn.get(`${COMMAND}::${name}`) ?? [];
const decodeInline = (cmd: string) => Buffer.from(/^echo (\S+) \| base64 -d/.exec(cmd)![1]!, "base64").toString();
/** A host's first phase (`<cluster>-<host>-0-<step>`): it also writes the host's files. */
const firstPhases = (run: ProgramRun) => commands(run).filter((c) => /-0-[a-z-]+$/.test(c.name) && !c.name.endsWith("-leave"));

test("every phase runs the real plan's steps: the real API endpoint in each check, never the shape's stand-in", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "hosts-ha.yaml") });
  const spec = requireSpec(loadSpecFile(join(EXAMPLES_DIR, "hosts-ha.yaml")));
  const endpoint = `https://${planAddresses(spec).apiEndpoint.host}:${planAddresses(spec).apiEndpoint.port}`;
  let checks = 0;
  for (const c of commands(run)) {
    const stdin = String(unwrapSecrets(c.inputs.stdin) ?? "");
    assert.doesNotMatch(stdin, /shape\.invalid/, `${c.name} runs the shape's stand-in endpoint`);
    // apiserver-ready's check asks /readyz through the endpoint: it must be the real one.
    if (/# step [a-z0-9-]+\/apiserver-ready\n/.test(stdin)) {
      assert.ok(stdin.includes(`--server=${endpoint} --request-timeout=5s get --raw /readyz`), `${c.name} checks ${endpoint}`);
      checks++;
    }
  }
  assert.equal(checks, 3, "one apiserver-ready check per control plane");
});

test("hosts-ha: each host's first phase carries its files, phases in plan order, a drain for each worker", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "hosts-ha.yaml") });
  const spec = requireSpec(loadSpecFile(join(EXAMPLES_DIR, "hosts-ha.yaml")));
  const hosts = planAddresses(spec).hosts;
  const names = commands(run).map((c) => c.name);
  for (const h of hosts) assert.equal(firstPhases(run).filter((c) => c.name.startsWith(`lab-${h.name}-0-`)).length, 1, `${h.name} has one first phase`);
  assert.deepEqual(names.filter((n) => n.endsWith("-leave")).sort(), ["lab-cp-1-etcd-leave", "lab-cp-2-etcd-leave", "lab-cp-3-etcd-leave", "lab-w-1-leave", "lab-w-2-leave"]);
  assert.deepEqual(names.filter((n) => n.startsWith("lab-w-1-") && !n.endsWith("leave") && !n.endsWith("drain")), ["lab-w-1-0-os-prep", "lab-w-1-1-kubelet-start"]);

  for (const c of commands(run)) {
    const host = hosts.find((h) => c.name.startsWith(`lab-${h.name}-`))!;
    const target = c.name === "lab-cp-1-etcd-leave" ? "192.168.10.12" : /-(leave|drain)$/.test(c.name) ? "192.168.10.11" : host.address;
    assert.ok(isSecretValue(c.inputs.connection), "the connection holds the SSH key: secret");
    assert.equal(unwrapSecrets(c.inputs.connection).host, target, `${c.name} runs on ${target}`);
    // Nothing secret on a command line; keys and file contents only through stdin.
    for (const field of ["create", "update", "delete"]) assert.doesNotMatch(String(c.inputs[field] ?? ""), /PRIVATE KEY|LS0tLS1CRUdJTiBQUklWQVRF/);
  }
  for (const h of hosts) {
    const first = firstPhases(run).find((c) => c.name.startsWith(`lab-${h.name}-0-`))!;
    assert.equal(first.inputs.create, "sudo -n bash -s");
    assert.ok(isSecretValue(first.inputs.stdin), "file contents are a secret");
    assert.match(unwrapSecrets(first.inputs.stdin), /^set -euo pipefail\n# The files[\s\S]*put '\/etc\/kubernetes\/pki\/ca\.crt'[\s\S]*# step /, "files first, then the steps");
    assert.match(decodeInline(first.inputs.delete), /systemctl disable --now/, "destroying a host's provisioning resets the host");
    for (const later of commands(run).filter((c) => c.name.startsWith(`lab-${h.name}-`) && c !== first && !/-(leave|drain)$/.test(c.name))) {
      assert.equal(typeof later.inputs.stdin, "string", `${later.name} sends no files`);
      assert.equal(later.inputs.delete, undefined);
    }
  }
  // Ordering: etcd quorum before kubelets; workers after every API server; workers independent.
  const phase = (host: string, step: string) => commands(run).find((c) => c.name.startsWith(`lab-${host}-`) && c.name.endsWith(`-${step}`))!.name;
  const cpKubelet = ["cp-1", "cp-2", "cp-3"].map((h) => phase(h, "kubelet-start"));
  for (const w of ["w-1", "w-2"]) {
    const d = deps(run, phase(w, "kubelet-start"));
    for (const k of cpKubelet) assert.ok(d.includes(k), `${w} kubelet after ${k}`);
    assert.ok(d.includes(phase(w, "os-prep")));
    assert.ok(!d.some((x) => /lab-w-\d/.test(x) && !x.startsWith(`lab-${w}-`)));
  }
  assert.ok(deps(run, cpKubelet[1]!).includes(cpKubelet[0]!), "control planes one at a time");
  assert.ok(deps(run, cpKubelet[2]!).includes(cpKubelet[1]!));
  // etcd members (re)start one at a time: each member's start waits for the previous member's.
  // The first member starts in its first phase; the others wait in a phase of their own.
  const etcdStart = ["lab-cp-1-0-install-etcd", "lab-cp-2-1-etcd-start", "lab-cp-3-1-etcd-start"];
  for (const name of etcdStart) assert.ok(commands(run).some((c) => c.name === name), name);
  assert.ok(deps(run, etcdStart[1]!).includes(etcdStart[0]!) && deps(run, etcdStart[2]!).includes(etcdStart[1]!), etcdStart.join(" -> "));
  assert.ok(!deps(run, etcdStart[0]!).some((d) => /lab-cp-[23]-/.test(d)), "the first member waits for no other");
  const manifests = commands(run).find((c) => c.name.startsWith("lab-cp-1-") && c.name.endsWith("-cluster-manifests"))!.name;
  for (const k of cpKubelet) assert.ok(deps(run, manifests).includes(k), "manifests after every API server is ready");
  const leave = commands(run).find((c) => c.name === "lab-w-1-leave")!;
  assert.equal(leave.inputs.create, "true # kubernetes 1.36.4");
  assert.match(decodeInline(leave.inputs.update), /uncordon w-1/);
  assert.match(decodeInline(leave.inputs.delete), /drain w-1 --ignore-daemonsets --delete-emptydir-data --timeout=300s[\s\S]*delete node w-1/);
  assert.ok(deps(run, "lab-w-1-leave").includes(phase("w-1", "kubelet-start")), "drained before the worker's own provisioning goes");
  // etcd members leave the cluster (member remove, run on another member) before their host goes.
  const etcdLeave = commands(run).find((c) => c.name === "lab-cp-2-etcd-leave")!;
  assert.equal(unwrapSecrets(etcdLeave.inputs.connection).host, "192.168.10.11");
  assert.match(decodeInline(etcdLeave.inputs.delete), /member remove "\$id"/);
  for (const c of commands(run).filter((c) => !/-(leave|drain)$/.test(c.name))) {
    const host = hosts.find((h) => c.name.startsWith(`lab-${h.name}-`))!;
    const first = firstPhases(run).find((f) => f.name.startsWith(`lab-${host.name}-0-`))!;
    if (c === first) {
      // Its stdin (the files) changes with any file: an update that runs create again.
      assert.equal(c.inputs.triggers, undefined, `${c.name}: no triggers (a replacement would run its delete, the reset)`);
      assert.ok(isSecretValue(c.inputs.stdin));
    } else {
      // Plain digests: a secret trigger still unknown at preview is refused by the command provider's
      // framework ("triggers[0]: malformed secret: missing value", found by `pulumi preview` on the real engine).
      assert.ok(!isSecretValue(c.inputs.triggers) && !c.inputs.triggers.some(isSecretValue), `${c.name} triggers are plain digests`);
      assert.match(c.inputs.triggers[0], /^[0-9a-f]{64}$/, `${c.name}: one SHA-256 digest`);
      assert.ok(deps(run, c.name).some((d) => d.startsWith(`lab-${host.name}-`)), `${c.name} after its host's earlier phase`);
    }
  }
  // A changed trigger replaces a command, and a replacement runs the old command's delete.
  for (const c of commands(run)) assert.ok(!(c.inputs.delete !== undefined && c.inputs.triggers !== undefined), `${c.name}: a delete and triggers together`);
});

test("aws-ha: provisioning goes through the bastion, waits for each machine, and never resets (machines are deleted instead)", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "aws-ha.yaml") });
  const files = firstPhases(run);
  assert.equal(files.length, 9);
  for (const f of files) {
    const host = f.name.replace(/^prod-/, "").replace(/-0-[a-z-]+$/, "");
    assert.ok(deps(run, f.name).includes(`prod-${host}`), "waits for its instance");
    assert.equal(f.inputs.delete, undefined);
    const connection = unwrapSecrets(f.inputs.connection);
    assert.equal(connection.proxy.host, "203.0.113.10", "through the bastion");
    assert.equal(connection.user, "ubuntu");
    assert.ok(isSecretValue(f.inputs.connection), "SSH key is a secret");
    assert.equal(connection.dialErrorLimit, 40, "bounded SSH retries after boot");
  }
  // A replaced instance gets every phase again: each phase's command line names its instance.
  for (const c of commands(run).filter((c) => !/-(drain|leave)$/.test(c.name))) {
    const host = c.name.replace(/^prod-/, "").replace(/-\d+-[a-z-]+$/, "");
    assert.equal(c.inputs.create, `sudo -n bash -s # machine prod-${host}-id`, c.name);
  }
  // Instances hold planned addresses: a replacement must free the address first.
  const instances = run.resources.filter((r) => r.type === "aws:ec2/instance:Instance" && r.name !== "prod-bastion");
  assert.equal(instances.length, 9);
  for (const i of instances) assert.ok(run.deleteBeforeReplace.has(`${i.type}::${i.name}`), `${i.name} is deleted before its replacement`);
});

/** The hosts example cluster run, then run again after `change` to its spec, against the first run's state. */
async function runAgainAfter(change: (spec: Record<string, any>) => void): Promise<{ first: ProgramRun; second: ProgramRun }> {
  const spec = hostsBase();
  const config = () => ({ "drydock:cluster": JSON.stringify(spec) });
  const first = await runIndex(config());
  change(spec);
  return { first, second: await runIndex(config(), { priorState: stateOf(first) }) };
}

test("raising a host's reprovision runs all of that host's phases again and changes nothing else", async () => {
  const { first, second } = await runAgainAfter((spec) => (spec.infrastructure.hosts.find((h: { name: string }) => h.name === "cp-2").reprovision = 1));
  const inputs = new Map(first.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(unwrapSecrets(r.inputs))]));
  const changed = second.resources.filter((r) => inputs.get(`${r.type}::${r.name}`) !== JSON.stringify(unwrapSecrets(r.inputs))).map((r) => r.name);
  const cp2Phases = commands(second).filter((c) => /^test-cp-2-\d+-/.test(c.name) && !c.name.endsWith("-leave"));
  assert.ok(cp2Phases.length >= 2);
  assert.deepEqual(changed.sort(), cp2Phases.map((c) => c.name).sort());
  for (const c of cp2Phases) assert.equal(c.inputs.create, "sudo -n bash -s # reprovision 1");
});

test("every host's first command waits for the version guard", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "minimal.yaml") });
  assert.ok(run.resources.some((r) => r.type === "pulumi-nodejs:dynamic/drydock:VersionGuard" && r.name === "minimal-versions"));
  const first = firstPhases(run);
  assert.ok(first.length > 0);
  for (const f of first) assert.ok(deps(run, f.name).includes("minimal-versions"), `${f.name} waits for the version guard`);
});

test("adding a worker creates only that worker's resources and changes no existing one", async () => {
  const { hostsBase } = await import("../helpers");
  const { stateOf } = await import("./harness");
  const spec = hostsBase();
  spec.network = { cni: "cilium" };
  const config = () => ({ "drydock:cluster": JSON.stringify(spec) });
  const first = await runIndex(config());
  spec.infrastructure.hosts.push({ name: "w-2", address: "192.168.10.22", roles: ["worker"], pool: "general" });
  const second = await runIndex(config(), { priorState: stateOf(first) });
  const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
  const before = new Map(first.resources.map((r) => [key(r), JSON.stringify(unwrapSecrets(r.inputs))]));
  const created = second.resources.filter((r) => !before.has(key(r))).map((r) => r.name).sort();
  assert.deepEqual(created, ["test-kubelet-client-w-2", "test-kubelet-serving-w-2", "test-w-2-0-os-prep", "test-w-2-1-kubelet-start", "test-w-2-drain", "test-w-2-leave"]);
  const changed = second.resources
    .filter((r) => before.has(key(r)) && before.get(key(r)) !== JSON.stringify(unwrapSecrets(r.inputs)))
    .map((r) => r.name);
  assert.deepEqual(changed, [], "no existing resource's inputs change");
});

test("a Kubernetes upgrade takes workers in batches of maxUnavailable, after the control planes and the new kube-proxy; other runs do not wait", async () => {
  const { hostsBase } = await import("../helpers");
  const { stateOf } = await import("./harness");
  const spec = hostsBase();
  spec.kubernetes = { version: "1.36.3" };
  spec.workers = { pools: [{ name: "general", maxUnavailable: 2 }] };
  spec.infrastructure.hosts = [
    ...spec.infrastructure.hosts.filter((h: { roles: string[] }) => h.roles.includes("controlPlane")),
    ...[1, 2, 3, 4, 5].map((i) => ({ name: `w-${i}`, address: `192.168.10.${20 + i}`, roles: ["worker"], pool: "general" })),
  ];
  const config = () => ({ "drydock:cluster": JSON.stringify(spec) });
  const drainDeps = (run: ProgramRun, worker: string) => deps(run, `test-${worker}-drain`).filter((d) => d.startsWith("test-"));
  const workerDeps = (run: ProgramRun, worker: string) => drainDeps(run, worker).filter((d) => d !== "test-versions");

  const first = await runIndex(config());
  for (let i = 1; i <= 5; i++) {
    assert.deepEqual(workerDeps(first, `w-${i}`), [], `first bring-up: w-${i} waits for no other host`);
    assert.ok(deps(first, `test-w-${i}-0-os-prep`).includes(`test-w-${i}-drain`), "a worker's new binaries go in after its drain");
  }

  spec.kubernetes = { version: "1.36.4" };
  const upgrade = await runIndex(config(), { priorState: stateOf(first) });
  // Each control plane's phase that ends with its API server ready again, and the phase that
  // applies the cluster's objects (it ends once the new kube-proxy runs on every node).
  const cpLast = ["cp-1", "cp-2", "cp-3"].map((h) => commands(upgrade).find((c) => c.name.startsWith(`test-${h}-`) && c.name.endsWith("-kubelet-start"))!.name);
  // (This spec's CNI comes from upstream: its phase is named after the cni-upstream step before cluster-manifests.)
  const manifests = commands(upgrade).find((c) => /^test-cp-1-\d-(cni-upstream|cluster-manifests)$/.test(c.name))!.name;
  // Batch 1 (w-1, w-2) after every control plane and kube-proxy; batch 2 (w-3, w-4) after batch 1 is back and uncordoned; batch 3 (w-5) after batch 2.
  for (const w of ["w-1", "w-2"]) assert.deepEqual(workerDeps(upgrade, w).sort(), [...cpLast, manifests].sort(), w);
  for (const w of ["w-3", "w-4"]) assert.deepEqual(workerDeps(upgrade, w).sort(), ["test-w-1-leave", "test-w-2-leave"], w);
  assert.deepEqual(workerDeps(upgrade, "w-5").sort(), ["test-w-3-leave", "test-w-4-leave"]);
  const leave = commands(upgrade).find((c) => c.name === "test-w-3-leave")!;
  assert.equal(leave.inputs.create, "true # kubernetes 1.36.4", "a new version updates the leave command, whose update uncordons");
  assert.ok(deps(upgrade, "test-w-3-leave").includes("test-w-3-1-kubelet-start"), "uncordoned only once the worker is back");
  assert.match(decodeInline(commands(upgrade).find((c) => c.name === "test-w-3-drain")!.inputs.create), /^# kubernetes 1\.36\.4\n[\s\S]*drain w-3 --ignore-daemonsets/);

  // The next run (adding a worker, say) is not an upgrade: nothing waits again.
  const after = await runIndex(config(), { priorState: stateOf(upgrade) });
  for (let i = 1; i <= 5; i++) assert.deepEqual(workerDeps(after, `w-${i}`), [], `w-${i} after the upgrade run`);
});

test("a certificate rotation re-runs what read the certificates, and never replaces a command whose delete resets a host", async () => {
  const { first, second } = await runAgainAfter((spec) => (spec.pki = { rotation: 1 }));
  const before = new Map(commands(first).map((c) => [c.name, unwrapSecrets(c.inputs)]));
  // What the engine does with each command, from its inputs (triggers are replace-on-change).
  const ops = new Map(commands(second).map((c) => [c.name, commandOperation(before.get(c.name), unwrapSecrets(c.inputs))]));
  for (const c of firstPhases(second)) assert.equal(ops.get(c.name), "update", `${c.name}: new files arrive as an update`);
  for (const c of commands(second)) {
    if (c.inputs.delete !== undefined) assert.notEqual(ops.get(c.name), "replace", `${c.name} has a delete and would be replaced`);
  }
  // The phases that restart services reading certificates run again; the worker drains do not.
  assert.equal(ops.get(commands(second).find((c) => c.name.startsWith("test-cp-2-") && c.name.endsWith("-kubelet-start"))!.name), "replace");
  assert.equal(ops.get("test-w-1-drain"), "same");
});

test("etcd members leave one at a time: each leave waits on the previous member's, so destroy removes them last first", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "hosts-ha.yaml") });
  const leaves = commands(run).filter((c) => c.name.endsWith("-etcd-leave")).map((c) => c.name);
  assert.deepEqual(leaves, ["lab-cp-1-etcd-leave", "lab-cp-2-etcd-leave", "lab-cp-3-etcd-leave"]);
  assert.ok(!deps(run, leaves[0]!).some((d) => d.endsWith("-etcd-leave")), "the first member's leave waits on no other leave");
  for (let i = 1; i < leaves.length; i++) {
    assert.ok(deps(run, leaves[i]!).includes(leaves[i - 1]!), `${leaves[i]} depends on ${leaves[i - 1]}`);
  }
});

test("stacked etcd 3 → 5 → 3 control planes through the spec: new members start one at a time after the others, nothing with a reset is replaced, and the leavers go last first", async () => {
  const extra = [
    { name: "cp-4", address: "192.168.10.14", roles: ["controlPlane", "etcd"] },
    { name: "cp-5", address: "192.168.10.15", roles: ["controlPlane", "etcd"] },
  ];
  const { first, second } = await runAgainAfter((spec) => spec.infrastructure.hosts.splice(3, 0, ...extra));
  const phase = (run: ProgramRun, host: string, step: string) => commands(run).find((c) => c.name.startsWith(`test-${host}-`) && c.name.endsWith(`-${step}`))!.name;
  // One member at a time: cp-4 starts after cp-3, cp-5 after cp-4.
  assert.ok(deps(second, phase(second, "cp-4", "etcd-start")).includes(phase(second, "cp-3", "etcd-start")));
  assert.ok(deps(second, phase(second, "cp-5", "etcd-start")).includes(phase(second, "cp-4", "etcd-start")));
  const before = new Map(commands(first).map((c) => [c.name, unwrapSecrets(c.inputs)]));
  let classified = 0;
  for (const c of commands(second)) {
    const op = commandOperation(before.get(c.name), unwrapSecrets(c.inputs));
    if (/test-cp-[45]-/.test(c.name)) assert.equal(op, "create", `${c.name} is new`);
    else if (c.inputs.delete !== undefined) assert.notEqual(op, "replace", `${c.name} has a delete (a reset or a leave) and would be replaced`);
    classified++;
  }
  assert.ok(classified > 20, `commands classified: ${classified}`);
  // Back to 3: the leaving members' leaves are the last two links of the chain, so the engine
  // deletes cp-5's, then cp-4's, each before its host's reset.
  const leaves = commands(second).filter((c) => c.name.endsWith("-etcd-leave")).map((c) => c.name);
  assert.deepEqual(leaves.slice(-2), ["test-cp-4-etcd-leave", "test-cp-5-etcd-leave"]);
  assert.ok(deps(second, "test-cp-5-etcd-leave").includes("test-cp-4-etcd-leave"));
  assert.ok(deps(second, "test-cp-5-etcd-leave").some((d) => /^test-cp-5-\d+-/.test(d)), "after its host's phases");
});

test("local-ha: one LocalHost and a LocalMachine per node; each host's commands wait for its machine, commands on cp-1 for cp-1's", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "local-ha.yaml") });
  const machines = run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/drydock:LocalMachine");
  const host = run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/drydock:LocalHost");
  assert.equal(host.length, 1);
  assert.deepEqual(unwrapSecrets(host[0]!.inputs).subnet, "10.213.0.0/24");
  assert.deepEqual(machines.map((m) => m.name).sort(), ["local-cp-1", "local-cp-2", "local-cp-3", "local-worker-1", "local-worker-2"]);
  for (const m of machines) {
    assert.ok(isSecretValue(m.inputs.sshPrivateKey), `${m.name}: the SSH key is a secret input`);
    assert.ok((run.dependsOn.get(`pulumi-nodejs:dynamic/drydock:LocalMachine::${m.name}`) ?? []).includes("local-local-host"), `${m.name} after the host's bridge`);
  }
  // A machine's name, address and disk cannot be held twice: `pulumi up --replace` must delete the
  // old one first (the provider's diff says so only when it is asked; --replace does not ask it).
  // Found live: created first, the replacement's machine was removed with the original.
  for (const r of [...machines, ...host]) assert.ok(run.deleteBeforeReplace.has(`${r.type}::${r.name}`), `${r.name} is deleted before its replacement`);
  let checked = 0;
  for (const c of commands(run)) {
    const target = unwrapSecrets(c.inputs.connection);
    assert.equal(target.user, "root", `${c.name} logs in as root`);
    const machine = machines.find((m) => unwrapSecrets(m.inputs).address === target.host);
    assert.ok(machine, `${c.name} runs on a local machine (${target.host})`);
    // First phases and the commands run on cp-1 for other hosts (drains, leaves) wait for the machine they run on.
    if (/-0-[a-z-]+$/.test(c.name) || /-(drain|leave)$/.test(c.name)) {
      assert.ok(deps(run, c.name).includes(machine!.name), `${c.name} waits for ${machine!.name}`);
      checked++;
    }
  }
  assert.ok(checked >= 5 + 2 + 2, `checked ${checked} commands`);
});
