// kubectl with the rendered admin kubeconfig against a TLS stand-in for the API
// server that uses the rendered serving certificate and requires client certificates.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { kubeconfig } from "../../pki/kubeconfig";
import { freePort, renderToTemp, requireBinaries, runAsync, hostsSpec } from "./helpers";
import { startApiServerStandIn } from "./apiserver-standin";

before(() => requireBinaries("kubectl"));

const VIP = "127.0.0.30";

async function loopbackSpec() {
  return hostsSpec({
    name: "loop",
    kubernetes: { apiServer: { port: await freePort(VIP) } },
    hosts: [
      { name: "cp-1", address: "127.0.0.31", roles: ["controlPlane", "etcd"] },
      { name: "cp-2", address: "127.0.0.32", roles: ["controlPlane", "etcd"] },
      { name: "cp-3", address: "127.0.0.33", roles: ["controlPlane", "etcd"] },
    ],
    // The stand-in plays the whole endpoint: it listens on the VIP's endpoint port.
    apiEndpoint: { vip: VIP, port: await freePort(VIP) },
  });
}

test("kubectl get --raw /readyz through the endpoint succeeds with the rendered admin kubeconfig, fails with a foreign client certificate", async () => {
  const spec = await loopbackSpec();
  const r = renderToTemp(spec);
  const other = renderToTemp(spec);
  const pki = (p: string) => r.host("cp-1", `/etc/kubernetes/pki/${p}`);
  const standIn = await startApiServerStandIn({ host: VIP, port: spec.infrastructure.provider === "hosts" ? spec.infrastructure.apiEndpoint.port! : 0, cert: pki("apiserver.crt"), key: pki("apiserver.key"), clientCa: pki("ca.crt") });
  try {
    const admin = join(r.dir, "cluster", "admin.kubeconfig");
    const ok = await runAsync("kubectl", ["--kubeconfig", admin, "get", "--raw", "/readyz"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), "ok");
    assert.ok(standIn.requests.includes("/readyz kubernetes-admin"), standIn.requests.join("; "));
    const served = standIn.requests.length;

    // Same trusted server, but a client certificate from another cluster's CA.
    const mine = parse(readFileSync(admin, "utf8"));
    const theirs = parse(readFileSync(join(other.dir, "cluster", "admin.kubeconfig"), "utf8"));
    const foreign = join(r.dir, "foreign.kubeconfig");
    const decode = (b64: string) => Buffer.from(b64, "base64").toString();
    writeFileSync(foreign, kubeconfig({
      clusterName: "loop",
      server: mine.clusters[0].cluster.server,
      caCertificatePem: decode(mine.clusters[0].cluster["certificate-authority-data"]),
      userName: "intruder",
      clientCertificatePem: decode(theirs.users[0].user["client-certificate-data"]),
      clientKeyPem: decode(theirs.users[0].user["client-key-data"]),
    }));
    const refused = await runAsync("kubectl", ["--kubeconfig", foreign, "get", "--raw", "/readyz"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Unauthorized/);
    assert.ok(standIn.refusals.some((e) => /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|certificate/i.test(e)), `refusal reason: ${standIn.refusals.join("; ")}`);

    // And kubectl refuses a server whose certificate another CA signed.
    const wrongServer = join(r.dir, "wrong-server.kubeconfig");
    writeFileSync(wrongServer, readFileSync(join(other.dir, "cluster", "admin.kubeconfig"), "utf8"));
    const untrusted = await runAsync("kubectl", ["--kubeconfig", wrongServer, "get", "--raw", "/readyz"]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate signed by unknown authority|x509/);
    assert.equal(standIn.requests.length, served, "refused clients never reached the handler");
  } finally {
    await standIn.close();
    r.cleanup();
    other.cleanup();
  }
});

test("a control-plane host's own address is also a valid name for its API server", async () => {
  const spec = await loopbackSpec();
  const r = renderToTemp(spec);
  const port = await freePort("127.0.0.32");
  const pki = (p: string) => r.host("cp-2", `/etc/kubernetes/pki/${p}`);
  const standIn = await startApiServerStandIn({ host: "127.0.0.32", port, cert: pki("apiserver.crt"), key: pki("apiserver.key"), clientCa: pki("ca.crt") });
  try {
    const admin = join(r.dir, "cluster", "admin.kubeconfig");
    const res = await runAsync("kubectl", ["--kubeconfig", admin, "--server", `https://127.0.0.32:${port}`, "get", "--raw", "/readyz"]);
    assert.equal(res.code, 0, res.stderr);
  } finally {
    await standIn.close();
    r.cleanup();
  }
});
