// The software load balancer for apiEndpoint.vip: the rendered haproxy config
// passes haproxy -c and, started on a loopback VIP in front of two TLS stand-ins
// for the API server, carries kubectl with the rendered admin kubeconfig, also
// after one stand-in stops. The rendered keepalived config passes keepalived -t.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireSpec, validateSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { HAPROXY_CONFIG_PATH, haproxyConfig, INTERFACE_PLACEHOLDER, KEEPALIVED_TEMPLATE_PATH } from "../../hosts/load-balancer";
import { hostsBase } from "../helpers";
import { ProcessGroup, freePort, renderToTemp, requireBinaries, run, runOk, waitFor, runAsync, hostsSpec } from "./helpers";
import { startApiServerStandIn } from "./apiserver-standin";

before(() => requireBinaries("haproxy", "keepalived", "kubectl", "ip"));

const VIP = "127.0.0.90";

async function loadBalancedSpec() {
  return hostsSpec({
    name: "vip",
    kubernetes: { apiServer: { port: await freePort("127.0.0.91") } },
    hosts: [
      { name: "etcd-1", address: "127.0.0.95", roles: ["etcd"] },
      { name: "cp-1", address: "127.0.0.91", roles: ["controlPlane"] },
      { name: "cp-2", address: "127.0.0.92", roles: ["controlPlane"] },
    ],
    apiEndpoint: { vip: VIP, port: await freePort(VIP) },
  });
}

test("haproxy on the VIP carries kubectl to healthy API servers, and keeps doing so when one stops", async () => {
  const spec = await loadBalancedSpec();
  const r = renderToTemp(spec);
  const procs = new ProcessGroup();
  const work = mkdtempSync(join(tmpdir(), "drydock-lb-"));
  const standIns: Awaited<ReturnType<typeof startApiServerStandIn>>[] = [];
  try {
    const addresses = planAddresses(spec);
    const ca = r.host("cp-1", "/etc/kubernetes/pki/ca.crt");
    // The rendered file, with only the CA path moved into the render folder.
    assert.equal(readFileSync(r.host("cp-1", HAPROXY_CONFIG_PATH), "utf8"), haproxyConfig(spec, addresses));
    const config = join(work, "haproxy.cfg");
    writeFileSync(config, haproxyConfig(spec, addresses, { caFile: ca }));
    const check = run("haproxy", ["-c", "-f", config]);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    for (const cp of ["cp-1", "cp-2"]) {
      const address = addresses.hosts.find((h) => h.name === cp)!.address;
      const pki = (f: string) => r.host(cp, `/etc/kubernetes/pki/${f}`);
      standIns.push(await startApiServerStandIn({ host: address, port: spec.kubernetes.apiServer.port, cert: pki("apiserver.crt"), key: pki("apiserver.key"), clientCa: pki("ca.crt"), name: cp }));
    }
    procs.start("haproxy", ["-db", "-f", config]);
    const admin = join(r.dir, "cluster", "admin.kubeconfig");
    assert.match(readFileSync(admin, "utf8"), new RegExp(`server: https://${VIP.replace(/\./g, "\\.")}:${addresses.apiEndpoint.port}`));
    const readyz = () => runAsync("kubectl", ["--kubeconfig", admin, "--request-timeout=3s", "get", "--raw", "/readyz"], { timeoutMs: 15_000 });
    await waitFor("API through the VIP", async () => (await readyz()).code === 0, 60, 250);
    // Both backends up: each passed haproxy's health check twice (rise 2).
    await waitFor("both API servers healthy in haproxy", () => standIns.every((s) => s.anonymous.length >= 3), 60, 250);
    // Round robin reaches both API servers, and haproxy health-checks them anonymously.
    for (let i = 0; i < 6; i++) assert.equal((await readyz()).stdout.trim(), "ok");
    for (const s of standIns) {
      assert.ok(s.requests.some((q) => /^\/readyz(\?\S*)? kubernetes-admin$/.test(q)), `kubectl reached every API server: ${s.requests.join("; ")}`);
      assert.ok(s.anonymous.length > 0, "haproxy health-checked it");
    }

    await standIns[0]!.close();
    const before = standIns[1]!.requests.length;
    for (let i = 0; i < 5; i++) {
      const res = await readyz();
      assert.equal(res.code, 0, `request ${i} after cp-1 stopped: ${res.stderr}`);
    }
    assert.ok(standIns[1]!.requests.length >= before + 5, "cp-2 served them");
  } finally {
    await procs.stopAll();
    for (const s of standIns) await s.close().catch(() => {});
    rmSync(work, { recursive: true, force: true });
    r.cleanup();
  }
});

test("keepalived accepts the rendered config once the step fills in the interface", () => {
  requireBinaries("keepalived");
  const input = hostsBase();
  const spec = requireSpec(validateSpec(input));
  const r = renderToTemp(spec);
  const ns = `drydock-vrrp-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), "drydock-ka-"));
  try {
    // keepalived refuses loopback for VRRP: a veth inside a namespace the test creates.
    runOk("ip", ["netns", "add", ns]);
    runOk("ip", ["netns", "exec", ns, "ip", "link", "add", "vrrp0", "type", "veth", "peer", "name", "vrrp1"]);
    runOk("ip", ["netns", "exec", ns, "ip", "link", "set", "vrrp0", "up"]);
    for (const cp of ["cp-1", "cp-2", "cp-3"]) {
      const template = readFileSync(r.host(cp, KEEPALIVED_TEMPLATE_PATH), "utf8");
      assert.ok(template.includes(INTERFACE_PLACEHOLDER));
      const config = join(work, `${cp}.conf`);
      writeFileSync(config, template.replace(INTERFACE_PLACEHOLDER, "vrrp0"));
      const result = run("ip", ["netns", "exec", ns, "keepalived", "-t", "-f", config]);
      assert.equal(result.code, 0, `${cp}: ${result.stdout}${result.stderr}`);
    }
    // The check bites: an unknown keyword fails the test run.
    const broken = join(work, "broken.conf");
    writeFileSync(broken, readFileSync(r.host("cp-1", KEEPALIVED_TEMPLATE_PATH), "utf8").replace(INTERFACE_PLACEHOLDER, "vrrp0").replace("advert_int 1", "advert_int 1\n    no_such_keyword 1"));
    assert.notEqual(run("ip", ["netns", "exec", ns, "keepalived", "-t", "-f", broken]).code, 0);
  } finally {
    run("ip", ["netns", "del", ns]);
    rmSync(work, { recursive: true, force: true });
    r.cleanup();
  }
});
