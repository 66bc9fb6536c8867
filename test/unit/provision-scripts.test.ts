// The scripts provisioning sends over SSH, run here with bash: the file bundle,
// a phase with a failing health check, and the phase plan.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { fileBundleScript, filesDigest } from "../../hosts/file-bundle";
import { planPhases, phaseScript, type Phase } from "../../hosts/phases";
import { hostPlans } from "../../hosts/host-plan";
import { sequentialStages } from "../../hosts/stages";
import { certificateInventory } from "../../pki/inventory";
import { shapeMaterial } from "../../pki/issue";
import { planAddresses } from "../../spec/addresses";
import { awsBase, EXAMPLES_DIR, hostsBase } from "../helpers";

const bash = (script: string, env: NodeJS.ProcessEnv = {}) => spawnSync("bash", ["-s"], { input: script, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });

test("file bundle: every file written with its content, mode and owner; the list of paths kept for reset", () => {
  const root = mkdtempSync(join(tmpdir(), "drydock-bundle-"));
  try {
    const spec = requireSpec(loadSpecFile(join(EXAMPLES_DIR, "minimal.yaml")));
    const plans = hostPlans({ spec, addresses: planAddresses(spec), material: shapeMaterial(certificateInventory(spec, planAddresses(spec))), apiEndpointHost: "192.168.56.10" });
    const files = plans[0]!.files;
    const script = fileBundleScript(files);
    assert.doesNotMatch(script, /PRIVATE KEY/, "contents travel base64-encoded inside stdin");
    const r = bash(script, { DRYDOCK_ROOT: root });
    assert.equal(r.status, 0, r.stderr);
    for (const f of files) {
      const path = join(root, f.path);
      assert.equal(readFileSync(path, "utf8"), f.content, f.path);
      assert.equal(statSync(path).mode & 0o777, f.mode, `${f.path} mode`);
      assert.equal(statSync(path).uid, 0);
    }
    assert.deepEqual(readFileSync(join(root, "usr/local/lib/drydock/files.list"), "utf8").trim().split("\n"), files.map((f) => f.path));
    // Re-running touches nothing that is already as rendered; a changed file alone is replaced.
    const stamp = (f: { path: string }) => { const st = statSync(join(root, f.path)); return `${st.ino}:${st.mtimeMs}`; };
    const before = files.map(stamp);
    assert.equal(bash(script, { DRYDOCK_ROOT: root }).status, 0);
    assert.deepEqual(files.map(stamp), before);
    const changed = files.map((f, i) => (i === 1 ? { ...f, content: `${f.content}# changed\n` } : f));
    assert.equal(bash(fileBundleScript(changed), { DRYDOCK_ROOT: root }).status, 0);
    const after = files.map(stamp);
    assert.deepEqual(after.map((s, i) => s !== before[i]), files.map((_, i) => i === 1));
    assert.equal(readFileSync(join(root, files[1]!.path), "utf8"), changed[1]!.content);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("file bundle: a file the host had before drydock is kept aside once, for reset to restore", () => {
  const root = mkdtempSync(join(tmpdir(), "drydock-bundle-"));
  try {
    const own = { path: "/etc/haproxy/haproxy.cfg", content: "drydock\n", mode: 0o644, owner: "root:root", secret: false };
    mkdirSync(join(root, "etc/haproxy"), { recursive: true });
    writeFileSync(join(root, own.path), "the package's own\n");
    for (const content of ["drydock\n", "drydock, changed\n"]) {
      const r = bash(fileBundleScript([{ ...own, content }]), { DRYDOCK_ROOT: root });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(root, own.path), "utf8"), content);
      assert.equal(readFileSync(join(root, `${own.path}.drydock-orig`), "utf8"), "the package's own\n", "drydock's own earlier version is never taken for the original");
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("phase script: runs steps in order, waits for health, and fails loudly with the check's output", () => {
  const dir = mkdtempSync(join(tmpdir(), "drydock-phase-"));
  try {
    const script = (name: string, body: string) => {
      const path = join(dir, `${name}.sh`);
      writeFileSync(path, `#!/bin/bash\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    };
    const log = join(dir, "log");
    const phase = (check: string): Phase => ({
      id: "h/0-a",
      host: "h",
      dependsOn: [],
      steps: [
        { id: "h/a", host: "h", name: "a", description: "first", script: script("a", `echo a >> ${log}`), dependsOn: [], check: null, triggers: [] },
        { id: "h/b", host: "h", name: "b", description: "second", script: script("b", `echo b >> ${log}; touch ${dir}/ready`), dependsOn: ["h/a"], check: { command: check, timeoutSeconds: 5 }, triggers: [] },
      ],
    });
    const ok = bash(phaseScript(phase(`test -f ${dir}/ready`)));
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readFileSync(log, "utf8"), "a\nb\n");
    const failing = bash(phaseScript(phase(`echo "etcd: connection refused" >&2; false`)));
    assert.equal(failing.status, 1);
    assert.match(failing.stderr, /drydock: h\/b still unhealthy after 5s:\netcd: connection refused/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("phase script: a step whose script and trigger files are unchanged and whose check passes is not run again", () => {
  const dir = mkdtempSync(join(tmpdir(), "drydock-phase-"));
  try {
    const step = join(dir, "start.sh");
    const config = join(dir, "service.conf");
    const log = join(dir, "log");
    writeFileSync(step, `#!/bin/bash\necho restarted >> ${log}\n`);
    writeFileSync(config, "a = 1\n");
    const phase: Phase = {
      id: "h/0-start",
      host: "h",
      dependsOn: [],
      steps: [{ id: "h/start", host: "h", name: "start", description: "start", script: step, dependsOn: [], check: { command: `test ! -f ${dir}/down`, timeoutSeconds: 5 }, triggers: [config] }],
    };
    const run = () => {
      const r = bash(phaseScript(phase), { DRYDOCK_STEP_STATE: join(dir, "state") });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(log, "utf8").split("\n").filter(Boolean).length;
    };
    assert.equal(run(), 1);
    assert.equal(run(), 1, "unchanged and healthy: not restarted");
    writeFileSync(config, "a = 2\n");
    assert.equal(run(), 2, "a changed trigger file re-runs the step");
    assert.equal(run(), 2);
    writeFileSync(join(dir, "down"), "");
    const failing = bash(phaseScript(phase), { DRYDOCK_STEP_STATE: join(dir, "state") });
    assert.equal(failing.status, 1, "an unhealthy service is restarted, and still unhealthy fails");
    assert.equal(readFileSync(log, "utf8").split("\n").filter(Boolean).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an upgrade restarts exactly the services whose binaries or files changed", () => {
  // One set of certificates for every variant: versions do not change the inventory.
  let material: ReturnType<typeof shapeMaterial> | null = null;
  const stepDigests = (mutate: (spec: Record<string, any>) => void) => {
    const input = hostsBase();
    mutate(input);
    const spec = requireSpec(validateSpec(input));
    const addresses = planAddresses(spec);
    material ??= shapeMaterial(certificateInventory(spec, addresses));
    const plans = hostPlans({ spec, addresses, material, apiEndpointHost: "192.168.10.100" });
    return new Map(plans.flatMap((p) => p.steps.map((s) => [s.id, filesDigest(p.files, [s.script, ...s.triggers])] as const)));
  };
  const base = stepDigests((s) => Object.assign(s, { kubernetes: { version: "1.36.3" }, etcd: { version: "3.6.13" } }));
  const changed = (mutate: (spec: Record<string, any>) => void) => {
    const next = stepDigests(mutate);
    return [...new Set([...next].filter(([id, d]) => base.get(id) !== d).map(([id]) => id.split("/")[1]!))].sort();
  };
  // etcd upgrade: its install and start steps (so each member restarts, one at a time) and nothing of Kubernetes.
  assert.deepEqual(changed((s) => Object.assign(s, { kubernetes: { version: "1.36.3" }, etcd: { version: "3.6.14" } })), ["etcd-start", "install-etcd"]);
  // Kubernetes patch: the node binaries, so containerd and the kubelet restart; etcd is untouched.
  const k8s = changed((s) => Object.assign(s, { kubernetes: { version: "1.36.4" }, etcd: { version: "3.6.13" } }));
  assert.ok(["install-node", "containerd-start", "kubelet-start"].every((n) => k8s.includes(n)), k8s.join(", "));
  assert.ok(!k8s.some((n) => n.startsWith("etcd") || n === "install-etcd"), k8s.join(", "));
});

test("phases: a worker is a few remote commands, workers never wait on each other, and stages do not grow with workers", () => {
  const phasesFor = (workers: number) => {
    const input = awsBase();
    input.kubernetes = { podCIDR: "10.128.0.0/14" };
    input.workers = { pools: [{ name: "general", count: workers }] };
    const spec = requireSpec(validateSpec(input));
    const addresses = planAddresses(spec);
    return planPhases(hostPlans({ spec, addresses, material: shapeMaterial(certificateInventory(spec, addresses)), apiEndpointHost: "x.invalid" }));
  };
  const few = phasesFor(3);
  const many = phasesFor(300);
  assert.equal(sequentialStages(many), sequentialStages(few));
  const worker = many.filter((p) => p.host === "general-7");
  assert.deepEqual(worker.map((p) => p.id), ["general-7/0-os-prep", "general-7/1-kubelet-start"]);
  for (const p of many.filter((p) => p.host.startsWith("general-"))) {
    assert.ok(!p.dependsOn.some((d) => d.startsWith("general-") && !d.startsWith(`${p.host}/`)), `${p.id} independent of other workers`);
  }
  const kubelet = worker[1]!;
  for (const cp of ["cp-1", "cp-2", "cp-3"]) assert.ok(kubelet.dependsOn.some((d) => d.startsWith(`${cp}/`)), `waits for ${cp}`);
  // Control planes restart one at a time: each control plane's kubelet phase waits for the previous one's.
  const cpKubelet = (h: string) => many.find((p) => p.host === h && p.steps.some((s) => s.name === "kubelet-start"))!;
  assert.ok(cpKubelet("cp-2").dependsOn.includes(cpKubelet("cp-1").id));
  assert.ok(cpKubelet("cp-3").dependsOn.includes(cpKubelet("cp-2").id));
});

test("trigger digests change exactly when a file a step reads changes", () => {
  const a = [{ path: "/etc/x", content: "1", mode: 0o644, owner: "root:root", secret: false }];
  const b = [{ ...a[0]!, content: "2" }];
  assert.equal(filesDigest(a, ["/etc/x"]), filesDigest(a, ["/etc/x"]));
  assert.notEqual(filesDigest(a, ["/etc/x"]), filesDigest(b, ["/etc/x"]));
  assert.equal(filesDigest(a, ["/etc/other"]), filesDigest(b, ["/etc/other"]));
});

test("phases come out in dependency order; a cycle is refused", async () => {
  const { topologicalOrder } = await import("../../hosts/stages");
  const p = (id: string, dependsOn: string[]): Phase => ({ id, host: id.split("/")[0]!, steps: [], dependsOn });
  const order = topologicalOrder([p("a/1", ["b/0"]), p("b/0", []), p("c/0", ["a/1", "b/0"])]).map((x) => x.id);
  assert.deepEqual(order, ["b/0", "a/1", "c/0"]);
  assert.throws(() => topologicalOrder([p("a/0", ["b/0"]), p("b/0", ["a/0"])]), /cycle/);
});

test("manifest prune: objects that left the rendered list are deleted, nothing else", async () => {
  const { objectsList, pruneScript, clusterManifests } = await import("../../hosts/cluster-manifests");
  const dir = mkdtempSync(join(tmpdir(), "drydock-prune-"));
  try {
    const calls = join(dir, "calls");
    const fake = join(dir, "kubectl");
    writeFileSync(fake, `#!/bin/bash\necho "$*" >> ${calls}\n`);
    chmodSync(fake, 0o755);
    const lists = { current: join(dir, "objects.list"), applied: join(dir, "state", "applied.list") };
    const script = pruneScript((args) => `${fake} ${args}`, lists);
    const listFor = (cni: string, metricsServer: boolean) => {
      const input = awsBase();
      input.network = { cni };
      input.addons = { metricsServer };
      const spec = requireSpec(validateSpec(input));
      const addresses = planAddresses(spec);
      return objectsList(clusterManifests({ spec, addresses, material: shapeMaterial(certificateInventory(spec, addresses)), apiEndpointHost: "x.invalid" }));
    };
    // First apply: nothing to prune.
    writeFileSync(lists.current, listFor("flannel", true));
    assert.equal(bash(script).status, 0);
    assert.throws(() => readFileSync(calls, "utf8"));
    // Unchanged: nothing to prune.
    assert.equal(bash(script).status, 0);
    assert.throws(() => readFileSync(calls, "utf8"));
    // metrics-server turned off and flannel swapped for calico: exactly their objects go.
    writeFileSync(lists.current, listFor("calico", false));
    assert.equal(bash(script).status, 0);
    const deleted = readFileSync(calls, "utf8").trim().split("\n");
    assert.ok(deleted.includes("delete --ignore-not-found -n kube-system Deployment.v1.apps metrics-server"), deleted.join("\n"));
    assert.ok(deleted.includes("delete --ignore-not-found APIService.v1.apiregistration.k8s.io v1beta1.metrics.k8s.io"));
    assert.ok(deleted.includes("delete --ignore-not-found -n kube-flannel DaemonSet.v1.apps kube-flannel-ds"));
    assert.ok(!deleted.some((d) => /coredns|kube-proxy/.test(d)), "objects still rendered stay");
    assert.equal(readFileSync(lists.applied, "utf8"), listFor("calico", false));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
