// Real etcd quorums (Debian etcd-server) started from the rendered member config
// files and certificates, members on distinct loopback addresses. Only paths (into
// a temporary folder) and the local listener (127.0.0.1, shared by every member on
// one machine, becomes the member's own address) change; every other key is rendered.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { planAddresses } from "../../spec/addresses";
import { ETCD_CONFIG_PATH, etcdConfig, etcdMembers } from "../../hosts/etcd";
import { ProcessGroup, etcdClient, etcdctlWith, renderToTemp, requireBinaries, waitFor, writeLocalEtcdConfig, hostsSpec } from "./helpers";

before(() => requireBinaries("etcd", "etcdctl"));

function specWith(members: number, base: number) {
  return hostsSpec({
    name: `quorum${members}`,
    hosts: [
      ...Array.from({ length: members }, (_, i) => ({ name: `etcd-${i + 1}`, address: `127.0.0.${base + i}`, roles: ["etcd"] })),
      { name: "cp-1", address: `127.0.0.${base + members}`, roles: ["controlPlane"] },
    ],
  });
}

async function quorumScenario(memberCount: number, base: number) {
  const spec = specWith(memberCount, base);
  const r = renderToTemp(spec);
  const work = mkdtempSync(join(tmpdir(), "drydock-quorum-"));
  const procs = new ProcessGroup();
  const members = etcdMembers(planAddresses(spec).hosts);
  const started = new Map<string, ReturnType<ProcessGroup["start"]>>();
  const configOf = (name: string) => join(work, name, "etcd.conf.yml");
  const start = (name: string) => started.set(name, procs.start("etcd", [`--config-file=${configOf(name)}`]));
  const endpoints = members.map((m) => `https://${m.address}:2379`).join(",");
  const pki = (f: string) => r.host("cp-1", `/etc/kubernetes/pki/${f}`);
  // As the API server talks to etcd.
  const apiserverClient = { ca: pki("etcd/ca.crt"), cert: pki("apiserver-etcd-client.crt"), key: pki("apiserver-etcd-client.key") };
  const etcdctl = etcdctlWith(endpoints, apiserverClient, ["--dial-timeout=1s", "--command-timeout=3s"]);
  try {
    for (const m of members) {
      // The rendered file, exactly as the host gets it...
      const rendered = parse(readFileSync(r.host(m.name, ETCD_CONFIG_PATH), "utf8"));
      assert.deepEqual(rendered, etcdConfig(spec, m, members), "rendered file is the renderer's config");
      // ...with its paths moved into the test's folder.
      writeLocalEtcdConfig(spec, m, members, r.host(m.name, "/etc/kubernetes/pki/etcd"), join(work, m.name));
      start(m.name);
    }
    const health = () => etcdctlWith(`https://${members[0]!.address}:2379`, etcdClient(r.host(members[0]!.name, "/etc/kubernetes/pki/etcd"), "healthcheck-client"), ["--dial-timeout=1s"])("endpoint", "health", "--cluster");
    await waitFor(`${memberCount}-member quorum healthy`, () => health().code === 0, 150, 200);
    const out = health();
    assert.equal(((out.stdout + out.stderr).match(/is healthy/g) ?? []).length, memberCount);

    const written: string[] = [];
    const put = (key: string) => {
      const res = etcdctl("put", key, `v-${key}`);
      if (res.code === 0) written.push(key);
      return res.code === 0;
    };
    assert.ok(put("/before"), "write with every member up");

    const tolerated = (memberCount - 1) / 2;
    const victims = members.slice(0, tolerated + 1).map((m) => m.name);
    for (const name of victims.slice(0, tolerated)) await procs.stop(started.get(name)!);
    assert.ok(put(`/with-${tolerated}-down`), `writes continue with ${tolerated} of ${memberCount} down`);
    await procs.stop(started.get(victims[tolerated]!)!);
    assert.equal(put("/without-quorum"), false, `writes fail with ${tolerated + 1} of ${memberCount} down`);

    for (const name of victims) start(name);
    await waitFor("quorum back", () => health().code === 0, 150, 200);
    for (const key of written) {
      assert.equal(etcdctl("get", key, "--print-value-only").stdout.trim(), `v-${key}`, `${key} survived`);
    }
    // The write refused without quorum was never acknowledged; etcd may still commit
    // it once quorum returns, so only acknowledged writes are asserted.
  } finally {
    await procs.stopAll();
    rmSync(work, { recursive: true, force: true });
    r.cleanup();
  }
}

test("3-member quorum from rendered configs: one down keeps writing, two down stops, restarts keep every key", async () => {
  await quorumScenario(3, 50);
});

test("5-member quorum from rendered configs: two down keeps writing, three down stops, restarts keep every key", async () => {
  await quorumScenario(5, 60);
});
