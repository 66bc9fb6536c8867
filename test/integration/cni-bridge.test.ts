// The rendered bridge CNI config run with the real CNI plugins (Debian's
// containernetworking-plugins): ADD gives a fresh network namespace an address in
// the node's pod range, DEL cleans up. The plugins run inside a "host" namespace
// the test creates, so the machine's own network is never touched.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireSpec, validateSpec } from "../../spec";
import { cidrContains, parseCidr, parseIPv4 } from "../../spec/ipv4";
import { BRIDGE_CONFLIST } from "../../hosts/cni";
import { hostsBase } from "../helpers";
import { renderToTemp, requireBinaries, run, runOk } from "./helpers";

const CNI_PATH = "/usr/lib/cni";

before(() => {
  requireBinaries("ip", "iptables");
  runOk("test", ["-x", `${CNI_PATH}/bridge`]);
});

/** Runs a conflist's plugins in order (ADD) or reverse order (DEL), as a runtime does. */
function runConflist(conflist: any, command: "ADD" | "DEL", hostNs: string, podNs: string, containerId: string): any {
  let prevResult: unknown = undefined;
  const plugins = command === "ADD" ? conflist.plugins : [...conflist.plugins].reverse();
  for (const plugin of plugins) {
    const config = { cniVersion: conflist.cniVersion, name: conflist.name, ...plugin, ...(prevResult ? { prevResult } : {}) };
    const result = run("ip", ["netns", "exec", hostNs, `${CNI_PATH}/${plugin.type}`], {
      input: JSON.stringify(config),
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: `/var/run/netns/${podNs}`,
        CNI_IFNAME: "eth0",
        CNI_PATH,
        ...(plugin.type === "portmap" ? { CNI_ARGS: "" } : {}),
      },
    });
    assert.equal(result.code, 0, `${plugin.type} ${command}: ${result.stdout}${result.stderr}`);
    if (command === "ADD" && result.stdout.trim()) prevResult = JSON.parse(result.stdout);
  }
  return prevResult;
}

test("bridge CNI: ADD puts the pod in the node's range, DEL cleans up", () => {
  const input = hostsBase();
  input.network = { cni: "bridge", proxyMode: "iptables" };
  const spec = requireSpec(validateSpec(input));
  const r = renderToTemp(spec);
  const tag = `${process.pid}`;
  const hostNs = `drydock-host-${tag}`;
  const podNs = `drydock-pod-${tag}`;
  const state = mkdtempSync(join(tmpdir(), "drydock-cni-"));
  try {
    const node = r.tree.plan.hosts.find((h) => h.name === "w-1")!;
    const conflist = JSON.parse(readFileSync(r.host("w-1", BRIDGE_CONFLIST), "utf8"));
    // Only host-local's state folder is redirected; every other key is the rendered one.
    conflist.plugins[0].ipam.dataDir = state;
    runOk("ip", ["netns", "add", hostNs]);
    runOk("ip", ["netns", "add", podNs]);
    runOk("ip", ["netns", "exec", hostNs, "ip", "link", "set", "lo", "up"]);

    const result = runConflist(conflist, "ADD", hostNs, podNs, `pod-${tag}`);
    const address = result.ips[0].address as string;
    const [ip] = address.split("/");
    assert.ok(cidrContains(parseCidr(node.podCIDR!)!, parseIPv4(ip!)!), `${address} inside ${node.podCIDR}`);
    const inPod = runOk("ip", ["netns", "exec", podNs, "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert.match(inPod, new RegExp(`inet ${ip!.replace(/\./g, "\\.")}/24`));
    const route = runOk("ip", ["netns", "exec", podNs, "ip", "route", "show", "default"]);
    assert.match(route, /default via 10\.244\.\d+\.1 dev eth0/, "the bridge is the pod's gateway");
    // The pod reaches its gateway on the bridge in the host namespace.
    runOk("ip", ["netns", "exec", podNs, "ping", "-c", "1", "-W", "2", result.ips[0].gateway]);

    runConflist(conflist, "DEL", hostNs, podNs, `pod-${tag}`);
    const after = run("ip", ["netns", "exec", podNs, "ip", "link", "show", "eth0"]);
    assert.notEqual(after.code, 0, "eth0 removed from the pod");
    const leases = run("sh", ["-c", `ls ${state}/${conflist.name} 2>/dev/null | grep -v -e lock -e last_reserved || true`]).stdout.trim();
    assert.equal(leases, "", "the address was released");
  } finally {
    run("ip", ["netns", "del", podNs]);
    run("ip", ["netns", "del", hostNs]);
    rmSync(state, { recursive: true, force: true });
    r.cleanup();
  }
});
