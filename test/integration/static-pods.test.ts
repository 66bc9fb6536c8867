// The control plane's static pods: the rendered installer run on a rendered host
// tree (DRYDOCK_ROOT), then its check run with real kubectl against a TLS stand-in
// serving mirror pods. A rotated file restarts only the pods that read it.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { CONTROL_PLANE_COMPONENTS, INPUTS_ANNOTATION, installedManifest, stagedManifest, STATIC_POD_INSTALLER, type ControlPlaneComponent } from "../../hosts/control-plane";
import { freePort, renderToTemp, requireBinaries, runAsync, type RenderedDir, hostsSpec } from "./helpers";
import { podDiscovery, startApiServerStandIn } from "./apiserver-standin";

before(() => requireBinaries("kubectl", "bash", "awk", "sha256sum"));

const CP = "127.0.0.41";

async function loopbackSpec() {
  return hostsSpec({
    name: "pods",
    kubernetes: { apiServer: { port: await freePort(CP) } },
    hosts: [
      { name: "cp-1", address: CP, roles: ["controlPlane", "etcd"] },
      { name: "w-1", address: "127.0.0.42", roles: ["worker"], pool: "general" },
    ],
    apiEndpoint: { vip: "127.0.0.40" },
  });
}

function installer(r: RenderedDir) {
  const root = r.host("cp-1", "");
  const env = { ...process.env, DRYDOCK_ROOT: root, HOME: join(r.dir, "home") };
  return {
    root,
    run: (action: "install" | "check") => runAsync("bash", [join(root, STATIC_POD_INSTALLER), action], { env, timeoutMs: 60_000 }),
    installed: (c: ControlPlaneComponent) => join(root, installedManifest(c)),
    /** Inode and mtime: a pod whose manifest is untouched is not restarted by the kubelet. */
    identity: (c: ControlPlaneComponent) => {
      const s = statSync(join(root, installedManifest(c)));
      return `${s.ino}:${s.mtimeMs}`;
    },
    digest: (c: ControlPlaneComponent) => parse(readFileSync(join(root, installedManifest(c)), "utf8")).metadata.annotations[INPUTS_ANNOTATION] as string,
  };
}

/** Copies a file from another render over this host's copy: a rotation of that file. */
function rotate(from: RenderedDir, to: RenderedDir, path: string) {
  copyFileSync(from.host("cp-1", path), to.host("cp-1", path));
}

test("static pods are installed from their staged manifests with a digest; a rotated file restarts only the pods that read it", async () => {
  const spec = await loopbackSpec();
  const r = renderToTemp(spec);
  const fresh = renderToTemp(spec); // new keys and certificates throughout
  try {
    const pods = installer(r);
    const first = await pods.run("install");
    assert.equal(first.code, 0, first.stderr);
    for (const c of CONTROL_PLANE_COMPONENTS) {
      const installed = parse(readFileSync(pods.installed(c), "utf8"));
      const staged = parse(readFileSync(r.host("cp-1", stagedManifest(c)), "utf8"));
      assert.match(installed.metadata.annotations[INPUTS_ANNOTATION], /^[0-9a-f]{64}$/);
      // The annotation is the only difference from the staged manifest.
      delete installed.metadata.annotations;
      assert.deepEqual(installed, staged);
      assert.equal(statSync(pods.installed(c)).mode & 0o777, 0o600, `${c} mode`);
      assert.ok(first.stderr.includes(`${c}: manifest installed`), first.stderr);
    }
    const salt = statSync(join(pods.root, "etc/kubernetes/drydock/inputs.salt"));
    assert.equal(salt.mode & 0o777, 0o600);

    const before = Object.fromEntries(CONTROL_PLANE_COMPONENTS.map((c) => [c, pods.identity(c)]));
    const again = await pods.run("install");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, "", "an unchanged run installs nothing");
    for (const c of CONTROL_PLANE_COMPONENTS) assert.equal(pods.identity(c), before[c], `${c} untouched`);

    // Each rotation restarts exactly the components that read the rotated files.
    const rotations: { files: string[]; restarts: ControlPlaneComponent[] }[] = [
      { files: ["/etc/kubernetes/pki/apiserver-etcd-client.crt", "/etc/kubernetes/pki/apiserver-etcd-client.key"], restarts: ["kube-apiserver"] },
      { files: ["/etc/kubernetes/scheduler.conf"], restarts: ["kube-scheduler"] },
      { files: ["/etc/kubernetes/controller-manager.conf"], restarts: ["kube-controller-manager"] },
      { files: ["/etc/kubernetes/pki/sa.key", "/etc/kubernetes/pki/sa.pub"], restarts: ["kube-apiserver", "kube-controller-manager"] },
    ];
    for (const { files, restarts } of rotations) {
      const was = Object.fromEntries(CONTROL_PLANE_COMPONENTS.map((c) => [c, { identity: pods.identity(c), digest: pods.digest(c) }]));
      for (const f of files) rotate(fresh, r, f);
      const result = await pods.run("install");
      assert.equal(result.code, 0, result.stderr);
      for (const c of CONTROL_PLANE_COMPONENTS) {
        const restarted = restarts.includes(c);
        assert.equal(pods.identity(c) !== was[c]!.identity, restarted, `${files.join(", ")}: ${c} ${restarted ? "replaced" : "untouched"}`);
        assert.equal(pods.digest(c) !== was[c]!.digest, restarted, `${files.join(", ")}: ${c} digest`);
      }
    }

    // A new version changes the staged manifest: that pod is replaced with the new image.
    rotate(fresh, r, stagedManifest("kube-scheduler"));
    const staged = r.host("cp-1", stagedManifest("kube-scheduler"));
    writeFileSync(staged, readFileSync(staged, "utf8").replace(/kube-scheduler:v[0-9.]+/, "kube-scheduler:v9.9.9"));
    const schedulerBefore = pods.identity("kube-scheduler");
    const upgraded = await pods.run("install");
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.notEqual(pods.identity("kube-scheduler"), schedulerBefore);
    assert.equal(parse(readFileSync(pods.installed("kube-scheduler"), "utf8")).spec.containers[0].image, "registry.k8s.io/kube-scheduler:v9.9.9");
  } finally {
    r.cleanup();
    fresh.cleanup();
  }
});

test("the check passes only when every mirror pod shows the installed digest and is Ready (real kubectl, TLS stand-in)", async () => {
  const spec = await loopbackSpec();
  const r = renderToTemp(spec);
  const pods = installer(r);
  const kubectl = join(pods.root, "usr/local/bin/kubectl");
  mkdirSync(dirname(kubectl), { recursive: true });
  symlinkSync((await runAsync("bash", ["-c", "command -v kubectl"])).stdout.trim(), kubectl);
  const installed = await pods.run("install");
  assert.equal(installed.code, 0, installed.stderr);

  const mirrors = new Map<string, { digest: string; ready: string }>();
  for (const c of CONTROL_PLANE_COMPONENTS) mirrors.set(`${c}-cp-1`, { digest: pods.digest(c), ready: "True" });
  const pki = (p: string) => r.host("cp-1", `/etc/kubernetes/pki/${p}`);
  const standIn = await startApiServerStandIn({
    host: CP,
    port: spec.kubernetes.apiServer.port,
    cert: pki("apiserver.crt"),
    key: pki("apiserver.key"),
    clientCa: pki("ca.crt"),
    objects: (path) => {
      const m = /^\/api\/v1\/namespaces\/kube-system\/pods\/([a-z0-9-]+)$/.exec(path);
      const mirror = m ? mirrors.get(m[1]!) : undefined;
      if (!m) return podDiscovery(path);
      if (!mirror) return undefined;
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: m[1], namespace: "kube-system", annotations: { [INPUTS_ANNOTATION]: mirror.digest, "kubernetes.io/config.mirror": "x" } },
        status: { phase: "Running", conditions: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: mirror.ready }] },
      };
    },
  });
  try {
    const ok = await pods.run("check");
    assert.equal(ok.code, 0, ok.stderr);
    // Read as the node itself: on a new cluster the admin group has no RBAC binding yet.
    assert.ok(standIn.requests.some((q) => q.startsWith("/api/v1/namespaces/kube-system/pods/kube-scheduler-cp-1?") && q.endsWith(" system:node:cp-1")), standIn.requests.join("; "));

    // The old pod still answering: its mirror shows the previous digest.
    mirrors.set("kube-scheduler-cp-1", { digest: "0".repeat(64), ready: "True" });
    const stale = await pods.run("check");
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /kube-scheduler: its mirror pod shows/);

    // The new pod, not yet Ready.
    mirrors.set("kube-scheduler-cp-1", { digest: pods.digest("kube-scheduler"), ready: "False" });
    const starting = await pods.run("check");
    assert.notEqual(starting.code, 0);
    assert.match(starting.stderr, /kube-scheduler: its mirror pod shows '[0-9a-f]{64} False'/);

    // No mirror pod yet (the kubelet has not created it).
    mirrors.delete("kube-controller-manager-cp-1");
    mirrors.set("kube-scheduler-cp-1", { digest: pods.digest("kube-scheduler"), ready: "True" });
    const missing = await pods.run("check");
    assert.notEqual(missing.code, 0);
  } finally {
    await standIn.close();
    r.cleanup();
  }
});
