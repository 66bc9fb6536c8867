// The reset's cleanup of what a running cluster leaves in a node's network and fstab, run for
// real in a network namespace this test creates (with interfaces, iptables chains and nftables
// tables and ip sets as kube-proxy and the CNIs make them, beside the user's own): drydock's go, the
// user's stay.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinaries, run, runOk } from "./helpers";
import { resetNetworkScript, resetScript } from "../../hosts/file-bundle";
import { commentOutSwap, osPrepStep } from "../../hosts/os";

const NS = "dd-reset-net";
const inNs = (...args: string[]) => runOk("ip", ["netns", "exec", NS, ...args]);

before(() => {
  requireBinaries("ip", "iptables-save", "iptables-restore", "nft", "ipset", "bash");
  run("ip", ["netns", "del", NS]);
  runOk("ip", ["netns", "add", NS]);
});
after(() => run("ip", ["netns", "del", NS]));

test("reset removes the CNIs' and kube-proxy's interfaces, chains and tables, and nothing of the user's", () => {
  inNs("ip", "link", "add", "cni0", "type", "bridge");
  for (const link of ["flannel.1", "kube-ipvs0", "cilium_host", "cali0123456789a", "keep0", "calico-mine"]) inNs("ip", "link", "add", link, "type", "bridge");
  const iptables = [
    // kube-proxy and the CNIs
    ["-N", "KUBE-SERVICES"], ["-A", "OUTPUT", "-j", "KUBE-SERVICES"], ["-A", "KUBE-SERVICES", "-j", "RETURN"],
    ["-t", "nat", "-N", "CNI-0123"], ["-t", "nat", "-A", "POSTROUTING", "-j", "CNI-0123"],
    ["-N", "FLANNEL-FWD"], ["-A", "FORWARD", "-j", "FLANNEL-FWD"],
    // the user's
    ["-N", "USER-RULES"], ["-A", "INPUT", "-j", "USER-RULES"], ["-A", "USER-RULES", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"],
  ];
  for (const rule of iptables) inNs("iptables", ...rule);
  inNs("nft", "add", "table", "ip", "kube-proxy");
  inNs("nft", "add", "table", "ip", "mine");
  // kube-proxy's ip sets (IPVS mode), one referred to by its own rule, beside the user's.
  for (const set of ["KUBE-CLUSTER-IP", "KUBE-LOOP-BACK", "my-allowlist"]) inNs("ipset", "create", set, "hash:ip");
  inNs("iptables", "-A", "KUBE-SERVICES", "-m", "set", "--match-set", "KUBE-CLUSTER-IP", "dst", "-j", "ACCEPT");

  inNs("bash", "-c", `set -uo pipefail\n${resetNetworkScript()}`);

  const links = inNs("ip", "-o", "link", "show").split("\n").map((l) => l.split(": ")[1]?.split("@")[0]).filter(Boolean);
  for (const gone of ["cni0", "flannel.1", "kube-ipvs0", "cilium_host", "cali0123456789a"]) assert.ok(!links.includes(gone), `${gone} removed`);
  for (const kept of ["keep0", "calico-mine", "lo"]) assert.ok(links.includes(kept), `${kept} kept`);
  const rules = inNs("iptables-save");
  assert.doesNotMatch(rules, /KUBE-|CNI-|FLANNEL-/, "no cluster chain or jump left");
  assert.match(rules, /^:USER-RULES /m);
  assert.match(rules, /^-A INPUT -j USER-RULES$/m);
  assert.match(rules, /^-A USER-RULES -p tcp -m tcp --dport 22 -j ACCEPT$/m);
  const tables = inNs("nft", "list", "tables");
  assert.doesNotMatch(tables, /kube-proxy/);
  assert.match(tables, /table ip mine/);
  assert.deepEqual(inNs("ipset", "list", "-n").trim().split("\n"), ["my-allowlist"], "kube-proxy's sets destroyed, the user's kept");
  // Run again on a clean namespace: nothing to do, nothing fails.
  inNs("bash", "-c", `set -euo pipefail\n${resetNetworkScript()}`);
});

test("reset restores the swap lines os-prep commented out, and only those", () => {
  const dir = mkdtempSync(join(tmpdir(), "drydock-fstab-"));
  try {
    const fstab = join(dir, "fstab");
    const original = "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n# an old comment about swap\n";
    writeFileSync(fstab, original);
    // What os-prep does to the file (the command its step runs, on this file).
    assert.ok(osPrepStep("iptables", null).body.includes(commentOutSwap("/etc/fstab")));
    runOk("bash", ["-c", commentOutSwap(fstab)]);
    assert.match(readFileSync(fstab, "utf8"), /^# drydock: swap off # \/swapfile/m);
    const swapLines = resetScript().split("\n").filter((l) => l.includes("FSTAB") && !l.startsWith("#"));
    assert.equal(swapLines.length, 2);
    runOk("bash", ["-c", swapLines.join("\n")], { env: { ...process.env, FSTAB: fstab } });
    assert.equal(readFileSync(fstab, "utf8"), original);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
