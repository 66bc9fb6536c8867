// The rendered install step against a local HTTP mirror on 127.0.0.1: it installs
// into a temporary root; with one tampered artifact it stops with a clear checksum
// error and installs nothing.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installScript, type InstallItem } from "../../hosts/install";
import { requireBinaries, runAsync, runOk, serveFolder } from "./helpers";

before(() => requireBinaries("bash", "curl", "tar", "sha256sum"));

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? listTree(join(dir, e)).map((p) => `${e}/${p}`) : [e]));
}

test("install step: verified downloads install into the root; a tampered artifact installs nothing", async () => {
  const work = mkdtempSync(join(tmpdir(), "drydock-install-"));
  const mirror = join(work, "mirror");
  // Artifacts in the official layouts: a single binary and an etcd-style tarball.
  mkdirSync(join(work, "build", "etcd-v9.9.9-linux-amd64"), { recursive: true });
  for (const b of ["etcd", "etcdctl"]) writeFileSync(join(work, "build", "etcd-v9.9.9-linux-amd64", b), `#!/bin/sh\necho ${b}\n`);
  mkdirSync(join(mirror, "release"), { recursive: true });
  runOk("tar", ["-czf", join(mirror, "release", "etcd.tar.gz"), "-C", join(work, "build"), "etcd-v9.9.9-linux-amd64"]);
  writeFileSync(join(mirror, "release", "kubectl"), "#!/bin/sh\necho kubectl\n");
  const { server, base } = await serveFolder(mirror);
  try {
    const items = (): InstallItem[] => [
      { artifact: { name: "kubectl", version: "9.9.9", url: `${base}/release/kubectl`, sha256: sha256(readFileSync(join(mirror, "release", "kubectl"))) }, layout: { kind: "binary", target: "/usr/local/bin/kubectl" } },
      {
        artifact: { name: "etcd", version: "9.9.9", url: `${base}/release/etcd.tar.gz`, sha256: sha256(readFileSync(join(mirror, "release", "etcd.tar.gz"))) },
        layout: { kind: "tarball", members: ["etcd-v9.9.9-linux-amd64/etcd", "etcd-v9.9.9-linux-amd64/etcdctl"], stripComponents: 1, targetDir: "/usr/local/bin" },
      },
    ];
    const script = join(work, "install.sh");
    const good = items();
    writeFileSync(script, `set -euo pipefail\n${installScript(good)}\n`);
    const root = join(work, "root");
    // The mirror lives in this process, so the script runs without blocking it (bounded).
    const runInstall = (env: NodeJS.ProcessEnv) => runAsync("bash", [script], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
    const installed = await runInstall({ DRYDOCK_ROOT: root });
    assert.equal(installed.code, 0, installed.stderr);
    assert.deepEqual(listTree(root).filter((p) => p.startsWith("usr/local/bin/")).sort(), ["usr/local/bin/etcd", "usr/local/bin/etcdctl", "usr/local/bin/kubectl"]);
    assert.deepEqual(listTree(join(root, "usr/local/lib/drydock/installed")).sort(), [`etcd-${good[1]!.artifact.sha256}`, "etcd.files", `kubectl-${good[0]!.artifact.sha256}`, "kubectl.files"]);
    // What each artifact put on the host, for the reset to remove exactly that.
    const listed = (name: string) => readFileSync(join(root, "usr/local/lib/drydock/installed", `${name}.files`), "utf8");
    assert.equal(listed("kubectl"), "/usr/local/bin/kubectl\n");
    assert.equal(listed("etcd"), "/usr/local/bin/etcd\n/usr/local/bin/etcdctl\n");

    // A re-run (a phase re-running for another file's change) downloads nothing: the mirror is gone.
    renameSync(join(mirror, "release"), join(mirror, "gone"));
    const again = await runInstall({ DRYDOCK_ROOT: root });
    assert.equal(again.code, 0, again.stderr);
    renameSync(join(mirror, "gone"), join(mirror, "release"));
    assert.equal(statSync(join(root, "usr/local/bin/etcd")).mode & 0o777, 0o755);
    assert.equal(runOk(join(root, "usr/local/bin/etcdctl"), []).trim(), "etcdctl");

    // Tamper with the second artifact after its checksum was taken.
    writeFileSync(join(mirror, "release", "etcd.tar.gz"), Buffer.concat([readFileSync(join(mirror, "release", "etcd.tar.gz")), Buffer.from("x")]));
    const fresh = join(work, "fresh-root");
    const tampered = await runInstall({ DRYDOCK_ROOT: fresh });
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, new RegExp(`drydock: checksum mismatch for etcd 9\\.9\\.9 from ${base.replace(/[.]/g, "\\.")}/release/etcd\\.tar\\.gz: expected ${good[1]!.artifact.sha256}, got [0-9a-f]{64}; nothing was installed`));
    assert.deepEqual(listTree(fresh), [], "nothing installed, not even the artifact that verified");
    // A new version (new checksum) on the installed root is downloaded, verified and installed.
    writeFileSync(join(mirror, "release", "kubectl"), "#!/bin/sh\necho kubectl v2\n");
    const newer = items()[0]!;
    writeFileSync(script, `set -euo pipefail\n${installScript([newer])}\n`);
    const upgraded = await runInstall({ DRYDOCK_ROOT: root });
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.equal(runOk(join(root, "usr/local/bin/kubectl"), []).trim(), "kubectl v2");
    assert.deepEqual(listTree(join(root, "usr/local/lib/drydock/installed")).filter((f) => f.startsWith("kubectl-")), [`kubectl-${newer.artifact.sha256}`], "one marker per artifact");
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test("install step: a whole tarball (the CNI plugins' layout) lists every file it put on the host, and a newer version's list keeps the older one's files", async () => {
  const work = mkdtempSync(join(tmpdir(), "drydock-install-tree-"));
  const mirror = join(work, "mirror");
  mkdirSync(join(mirror, "release"), { recursive: true });
  const pack = (version: string, plugins: string[]) => {
    const dir = join(work, `build-${version}`);
    mkdirSync(dir, { recursive: true });
    for (const p of plugins) writeFileSync(join(dir, p), `#!/bin/sh\necho ${p} ${version}\n`);
    // The official archive lists its members as ./name, with ./ itself.
    runOk("tar", ["-czf", join(mirror, "release", `cni-${version}.tgz`), "-C", dir, "."]);
    return sha256(readFileSync(join(mirror, "release", `cni-${version}.tgz`)));
  };
  const { server, base } = await serveFolder(mirror);
  try {
    const root = join(work, "root");
    const install = async (version: string, sum: string) => {
      const script = `set -euo pipefail\n${installScript([{ artifact: { name: "cni-plugins", version, url: `${base}/release/cni-${version}.tgz`, sha256: sum }, layout: { kind: "tree", targetDir: "/opt/cni/bin" } }])}\n`;
      const r = await runAsync("bash", ["-c", script], { env: { ...process.env, DRYDOCK_ROOT: root }, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
    };
    const list = () => readFileSync(join(root, "usr/local/lib/drydock/installed/cni-plugins.files"), "utf8");
    const first = pack("1.0.0", ["bridge", "host-local", "loopback"]);
    await install("1.0.0", first);
    assert.deepEqual(listTree(join(root, "opt/cni/bin")).sort(), ["bridge", "host-local", "loopback"]);
    assert.equal(list(), "/opt/cni/bin/bridge\n/opt/cni/bin/host-local\n/opt/cni/bin/loopback\n");
    const second = pack("1.1.0", ["bridge", "portmap"]);
    await install("1.1.0", second);
    assert.equal(list(), "/opt/cni/bin/bridge\n/opt/cni/bin/host-local\n/opt/cni/bin/loopback\n/opt/cni/bin/portmap\n", "the union of both versions' files");
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
