// The real Pulumi engine (no mocks, no imitation) over drydock's Cluster component without
// SSH: the PKI (dynamic providers, run by the engine's provider host) and the version guard.
// `pulumi up`, a clean `preview --expect-no-changes`, a second up that changes nothing, a
// rotation and a new worker that change exactly what they should, encrypted secrets in the
// exported state, and destroy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Cluster } from "../../components/cluster";
import { requireSpec, validateSpec } from "../../spec";
import { EngineStack, logTo, readLog } from "./engine";

const HOSTS = [
  { name: "cp-1", address: "10.77.0.11", roles: ["controlPlane", "etcd"] },
  { name: "cp-2", address: "10.77.0.12", roles: ["controlPlane", "etcd"] },
  { name: "cp-3", address: "10.77.0.13", roles: ["controlPlane", "etcd"] },
  { name: "w-1", address: "10.77.0.21", roles: ["worker"] },
];

let spec: Record<string, any> = {
  name: "engine",
  infrastructure: { provider: "hosts", hosts: HOSTS, apiEndpoint: { vip: "10.77.0.100" } },
};

let workDir: string;
let logFile: string;
let engine: EngineStack;

before(async () => {
  workDir = mkdtempSync(join(process.env.DRYDOCK_E2E_WORK ?? "/var/tmp", "drydock-engine-"));
  logFile = join(workDir, "engine.log");
  engine = await EngineStack.create({
    workDir,
    stackName: "engine",
    log: logTo(logFile),
    program: async () => {
      const cluster = new Cluster(spec.name, { spec: requireSpec(validateSpec(spec)) });
      return { apiEndpoint: cluster.apiEndpoint, nodes: cluster.nodes, adminKubeconfig: cluster.adminKubeconfig };
    },
  });
});

after(() => {
  if (workDir && !process.env.DRYDOCK_E2E_KEEP) rmSync(workDir, { recursive: true, force: true });
});

/** Resource changes a preview reports, by operation, with the names of what would change. */
async function planned(): Promise<{ changes: Record<string, number>; changedNames: string[] }> {
  const { summary, steps } = await engine.plannedSteps();
  return { changes: summary, changedNames: steps.map((st) => `${st.op} ${st.name}`).sort() };
}

test("pulumi up issues the cluster's PKI through the engine; the engine's summary is in the log", { timeout: 600_000 }, async () => {
  const up = await engine.up();
  assert.equal(up.summary.result, "succeeded");
  const created = up.summary.resourceChanges?.create ?? 0;
  assert.ok(created >= 45, `resources created: ${created}`);
  assert.match(readLog(logFile), /Resources:\n\s+\+ \d+ created/);
  assert.equal(up.outputs.apiEndpoint!.value, "https://10.77.0.100:8443");
  assert.equal(up.outputs.adminKubeconfig!.secret, true, "the admin kubeconfig output is secret");
  assert.match(up.outputs.adminKubeconfig!.value as string, /client-key-data: /);
  assert.equal((up.outputs.nodes!.value as unknown[]).length, 4);
});

test("preview --expect-no-changes is clean right after, and a second up changes nothing", { timeout: 600_000 }, async () => {
  await engine.preview({ expectNoChanges: true });
  const again = await engine.up();
  const changes = again.summary.resourceChanges ?? {};
  assert.deepEqual(Object.keys(changes), ["same"], JSON.stringify(changes));
});

test("the exported state holds no private key, token or encryption key in plain text", { timeout: 120_000 }, async () => {
  const { text, resources } = engine.exportState();
  assert.doesNotMatch(text, /PRIVATE KEY/, "no PEM private key");
  const certificates = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/drydock:Certificate");
  assert.ok(certificates.length >= 30, `certificates in state: ${certificates.length}`);
  for (const cert of certificates) {
    for (const key of [(cert.outputs as any)?.privateKeyPem, (cert.inputs as any)?.caPrivateKeyPem]) {
      assert.ok(key && typeof key === "object" && key.ciphertext && !key.plaintext, `${cert.urn}: the key is a ciphertext`);
    }
  }
  const randomKeys = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/drydock:RandomKey");
  assert.ok(randomKeys.length >= 1);
  for (const key of randomKeys) assert.ok(Object.values(key.outputs ?? {}).some((v: any) => v && v.ciphertext), `${key.urn}: encrypted`);
  assert.match(text, /"secrets_providers": \{\s*"type": "passphrase"/);
});

test("pki.rotation: preview shows only leaf certificates changing, up applies it, then nothing is left to do", { timeout: 600_000 }, async () => {
  spec = { ...spec, pki: { rotation: 1 } };
  const { changedNames } = await planned();
  assert.ok(changedNames.length >= 30, `changes: ${changedNames.length}`);
  const notCertificates = changedNames.filter((n) => !/^(update|replace) /.test(n) || /-ca$|ca-|RandomKey|guard/.test(n));
  assert.deepEqual(notCertificates, [], "only leaf certificates change; CAs, keys and the guard stay");
  const up = await engine.up();
  assert.equal(up.summary.result, "succeeded");
  await engine.preview({ expectNoChanges: true });
});

test("a new worker: only its own resources are created, nothing else changes", { timeout: 600_000 }, async () => {
  spec = { ...spec, infrastructure: { ...spec.infrastructure, hosts: [...HOSTS, { name: "w-2", address: "10.77.0.22", roles: ["worker"] }] } };
  const { changes, changedNames } = await planned();
  const foreign = changedNames.filter((n) => !n.startsWith("create ") || !n.includes("w-2"));
  assert.deepEqual(foreign, [], `only w-2's resources are created (${JSON.stringify(changes)})`);
  assert.ok(changedNames.length >= 2, `w-2 gets its certificates: ${changedNames.join(", ")}`);
  const up = await engine.up();
  assert.equal(up.summary.resourceChanges?.create, changedNames.length);
});

test("pulumi destroy deletes every resource and leaves an empty stack", { timeout: 600_000 }, async () => {
  const destroyed = await engine.destroy();
  assert.equal(destroyed.summary.result, "succeeded");
  assert.ok((destroyed.summary.resourceChanges?.delete ?? 0) >= 45);
  const { resources } = engine.exportState();
  assert.deepEqual(resources, []);
});
