// A real etcd (Debian etcd-server) member set on the rendered certificates:
// mutual TLS on client and peer ports, client-cert-auth on.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessGroup, etcdctlWith, renderToTemp, requireBinaries, waitFor, hostsSpec } from "./helpers";

before(() => requireBinaries("etcd", "etcdctl"));

const MEMBERS = [
  { name: "etcd-a", address: "127.0.0.41" },
  { name: "etcd-b", address: "127.0.0.42" },
  { name: "etcd-c", address: "127.0.0.43" },
];

function spec() {
  return hostsSpec({ name: "etcdtls", hosts: [...MEMBERS.map((m) => ({ ...m, roles: ["etcd"] })), { name: "cp-1", address: "127.0.0.44", roles: ["controlPlane"] }] });
}

test("etcd accepts the rendered certificates for client and peer TLS, and refuses foreign ones", async () => {
  const r = renderToTemp(spec());
  const foreign = renderToTemp(spec());
  const data = mkdtempSync(join(tmpdir(), "drydock-etcd-"));
  const procs = new ProcessGroup();
  const pki = (host: string, f: string) => r.host(host, `/etc/kubernetes/pki/${f}`);
  const initialCluster = MEMBERS.map((m) => `${m.name}=https://${m.address}:2380`).join(",");
  try {
    for (const m of MEMBERS) {
      procs.start("etcd", [
        `--name=${m.name}`,
        `--data-dir=${join(data, m.name)}`,
        `--listen-client-urls=https://${m.address}:2379`,
        `--advertise-client-urls=https://${m.address}:2379`,
        `--listen-peer-urls=https://${m.address}:2380`,
        `--initial-advertise-peer-urls=https://${m.address}:2380`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=drydock-pki-test",
        "--client-cert-auth",
        `--trusted-ca-file=${pki(m.name, "etcd/ca.crt")}`,
        `--cert-file=${pki(m.name, "etcd/server.crt")}`,
        `--key-file=${pki(m.name, "etcd/server.key")}`,
        "--peer-client-cert-auth",
        `--peer-trusted-ca-file=${pki(m.name, "etcd/ca.crt")}`,
        `--peer-cert-file=${pki(m.name, "etcd/peer.crt")}`,
        `--peer-key-file=${pki(m.name, "etcd/peer.key")}`,
      ]);
    }
    const endpoints = MEMBERS.map((m) => `https://${m.address}:2379`).join(",");
    const etcdctl = (host: string, cert: string, key: string, ...args: string[]) => etcdctlWith(endpoints, { ca: pki(host, "etcd/ca.crt"), cert, key })(...args);
    const health = () => etcdctl("etcd-a", pki("etcd-a", "etcd/healthcheck-client.crt"), pki("etcd-a", "etcd/healthcheck-client.key"), "endpoint", "health", "--cluster");
    await waitFor("etcd quorum healthy", () => health().code === 0, 150, 200);
    const report = health();
    assert.equal(((report.stdout + report.stderr).match(/is healthy/g) ?? []).length, 3, report.stdout + report.stderr);

    // The API server's etcd client certificate (on the control-plane host) reads and writes.
    const apiserver = (...args: string[]) => etcdctl("cp-1", pki("cp-1", "apiserver-etcd-client.crt"), pki("cp-1", "apiserver-etcd-client.key"), ...args);
    assert.equal(apiserver("put", "/registry/drydock", "ok").code, 0);
    assert.equal(apiserver("get", "/registry/drydock", "--print-value-only").stdout.trim(), "ok");

    // A client certificate from another render's etcd CA is refused.
    const refused = etcdctl("etcd-a", foreign.host("etcd-a", "/etc/kubernetes/pki/etcd/healthcheck-client.crt"), foreign.host("etcd-a", "/etc/kubernetes/pki/etcd/healthcheck-client.key"), "get", "/registry/drydock");
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /certificate|tls|handshake|deadline/i);
    // A cluster-CA certificate is not an etcd identity either.
    const wrongCa = etcdctl("cp-1", pki("cp-1", "apiserver-kubelet-client.crt"), pki("cp-1", "apiserver-kubelet-client.key"), "get", "/registry/drydock");
    assert.notEqual(wrongCa.code, 0);
  } finally {
    await procs.stopAll();
    rmSync(data, { recursive: true, force: true });
    r.cleanup();
    foreign.cleanup();
  }
});
