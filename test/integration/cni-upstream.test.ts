// Issue 18 item 6: Calico's operator manifests and Cilium's Helm chart are pinned like every
// binary. The rendered cni-upstream step runs here with real bash, curl and sha256sum against a
// mirror on 127.0.0.1: it verifies every download before applying anything, applies the
// verified local copies (never a URL), and with one tampered file applies nothing.
// kubectl and helm are stand-ins that record their arguments (no API server in this tier);
// the cluster tier runs the real ones.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { renderCluster } from "../../hosts/render";
import { artifact, newest } from "../../spec/catalog";
import { requireSpec, validateSpec } from "../../spec";
import { hostsBase } from "../helpers";
import { requireBinaries, runAsync, runOk, serveFolder } from "./helpers";

before(() => requireBinaries("bash", "curl", "sha256sum", "tar"));

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function put(dir: string, path: string, content: string | Buffer): string {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), content);
  return path;
}

/** The step as rendered, with kubectl and helm pointed at recording stand-ins. */
function stepScript(spec: Record<string, any>, work: string): string {
  const tree = renderCluster(requireSpec(validateSpec(spec)));
  const step = tree.plan.steps.find((s) => s.id === "cp-1/cni-upstream");
  assert.ok(step, "a cni-upstream step on the first control plane");
  const body = tree.files.find((f) => f.path === `hosts/cp-1${step.script}`)!.content.toString();
  const log = join(work, "calls.log");
  const standIn = (name: string) => {
    const path = join(work, name);
    // Records the call and the SHA-256 of every -f / chart file it was given, read under DRYDOCK_ROOT.
    writeFileSync(path, `#!/bin/bash\nline="${name}"\nfor a in "$@"; do case "$a" in /usr/local/lib/drydock/upstream/*) line="$line $a=$(sha256sum "$DRYDOCK_ROOT$a" | cut -d' ' -f1)";; *) line="$line $a";; esac; done\necho "$line" >> ${log}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const kubectl = standIn("kubectl");
  const helm = standIn("helm");
  // Only the first word of each command is swapped; the arguments stay as rendered.
  return body.replaceAll("/usr/local/bin/kubectl ", `${kubectl} `).replaceAll("KUBECONFIG=/etc/kubernetes/admin.conf /usr/local/bin/helm ", `${helm} `);
}

/** The mirror lives in this process, so the script runs without blocking it (bounded). */
const runScript = (script: string, root: string) => runAsync("bash", ["-c", script], { env: { ...process.env, DRYDOCK_ROOT: root }, timeoutMs: 60_000 });

const calls = (work: string) => (existsSync(join(work, "calls.log")) ? readFileSync(join(work, "calls.log"), "utf8").trim().split("\n") : []);

test("calico: both manifests verified, then the CRDs applied and Established, then the operator; a tampered manifest applies nothing", async () => {
  const work = mkdtempSync(join(tmpdir(), "drydock-cni-upstream-"));
  const mirror = join(work, "mirror");
  const { server, base, requests } = await serveFolder(mirror);
  try {
    const crds = put(mirror, "/own/operator-crds.yaml", "kind: CustomResourceDefinition\nmetadata: { name: installations.operator.tigera.io }\n");
    const operator = put(mirror, "/own/tigera-operator.yaml", "kind: Deployment\nmetadata: { name: tigera-operator }\n");
    const spec = hostsBase();
    spec.network = { cni: "calico" };
    // The user's own copies (overrides, any arch); both must be given and both are checked.
    spec.artifacts = {
      overrides: [
        { name: "calico-crds", version: "3.31.7", url: `${base}${crds}`, sha256: sha256(readFileSync(join(mirror, crds))) },
        { name: "calico-operator", version: "3.31.7", arch: "arm64", url: `${base}${operator}`, sha256: sha256(readFileSync(join(mirror, operator))) },
      ],
    };
    const root = join(work, "root");
    const applied = await runScript(stepScript(spec, work), root);
    assert.equal(applied.code, 0, applied.stderr);
    const log = calls(work);
    const upstream = "/usr/local/lib/drydock/upstream";
    assert.equal(log.length, 3, log.join("\n"));
    assert.match(log[0]!, new RegExp(`^kubectl .* apply --server-side --force-conflicts -f ${upstream}/calico-operator-crds-3\\.31\\.7\\.yaml=${sha256(readFileSync(join(mirror, crds)))}$`));
    assert.match(log[1]!, new RegExp(`^kubectl .* wait --for=condition=Established --timeout=120s -f ${upstream}/calico-operator-crds-3\\.31\\.7\\.yaml=`));
    assert.match(log[2]!, new RegExp(`^kubectl .* apply --server-side --force-conflicts -f ${upstream}/calico-tigera-operator-3\\.31\\.7\\.yaml=${sha256(readFileSync(join(mirror, operator)))}$`));
    assert.ok(log.every((l) => !/ -f https?:/.test(l)), "kubectl is given the verified file, never a URL");

    // The catalog's own checksums, through a mirror that serves a tampered operator manifest.
    rmSync(root, { recursive: true, force: true });
    rmSync(join(work, "calls.log"), { force: true });
    const pinned = hostsBase();
    pinned.network = { cni: "calico" };
    pinned.artifacts = { mirror: `${base}/mirror` };
    const crdsRef = artifact("calico-crds", "3.31.7", "amd64", { mirror: `${base}/mirror`, overrides: [] });
    assert.equal(crdsRef.url, `${base}/mirror/raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml`);
    put(mirror, "/mirror/raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml", "not the pinned file\n");
    put(mirror, "/mirror/raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml", "not the pinned file either\n");
    requests.length = 0;
    const refused = await runScript(stepScript(pinned, work), root);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /drydock: checksum mismatch for calico-crds 3\.31\.7 from http:\/\/127\.0\.0\.1:\d+\/mirror\/raw\.githubusercontent\.com\/.*expected 380414d5/);
    assert.deepEqual(calls(work), [], "nothing applied");
    assert.equal(existsSync(join(root, upstream)), false, "nothing kept");
    assert.equal(requests.length, 1, "stopped at the first mismatch");
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test("cilium: the chart file verified and installed with helm from the file, with drydock's values", async () => {
  const work = mkdtempSync(join(tmpdir(), "drydock-cni-upstream-"));
  const mirror = join(work, "mirror");
  const { server, base } = await serveFolder(mirror);
  try {
    // A chart archive and a helm tarball in the official layout (linux-amd64/helm).
    mkdirSync(join(work, "build", "linux-amd64"), { recursive: true });
    writeFileSync(join(work, "build", "linux-amd64", "helm"), "#!/bin/sh\nexit 0\n");
    const helmTar = join(mirror, "own", "helm.tar.gz");
    mkdirSync(dirname(helmTar), { recursive: true });
    runOk("tar", ["-czf", helmTar, "-C", join(work, "build"), "linux-amd64"]);
    const chart = put(mirror, "/own/cilium-1.20.1.tgz", Buffer.from("a chart archive stand-in"));
    const helmVersion = newest("helm");
    const spec = hostsBase();
    spec.network = { cni: "cilium" };
    spec.artifacts = {
      overrides: [
        { name: "cilium-chart", version: "1.20.1", url: `${base}${chart}`, sha256: sha256(readFileSync(join(mirror, chart))) },
        { name: "helm", version: helmVersion, url: `${base}/own/helm.tar.gz`, sha256: sha256(readFileSync(helmTar)) },
      ],
    };
    const validated = validateSpec(spec);
    assert.ok(validated.ok, validated.ok ? "" : JSON.stringify(validated.problems));
    const root = join(work, "root");
    const result = await runScript(stepScript(spec, work), root);
    assert.equal(result.code, 0, result.stderr);
    const log = calls(work);
    assert.equal(log.length, 1, log.join("\n"));
    assert.match(log[0]!, new RegExp(`^helm upgrade --install cilium /usr/local/lib/drydock/upstream/cilium-1\\.20\\.1\\.tgz=${sha256(readFileSync(join(mirror, chart)))} --namespace kube-system --values /etc/kubernetes/drydock/helm/cilium-values\\.yaml --wait --timeout 10m$`));
    assert.ok(existsSync(join(root, "usr/local/bin/helm")), "helm installed from its verified tarball");
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
