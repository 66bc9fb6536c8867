import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ROOT, exampleFiles } from "../helpers";

const BIN = join(ROOT, "bin", "drydock.js");

function drydock(args: string[], cwd = ROOT) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "drydock-cli-"));
}

test("validate: a bad spec exits 1 with one line per problem and no stack trace", () => {
  const dir = tempDir();
  try {
    const spec = join(dir, "bad.yaml");
    writeFileSync(spec, [
      "name: Bad_Name",
      "network: { cni: weave }",
      "infrastructure:",
      "  provider: hosts",
      "  hosts:",
      "    - { name: a, address: 192.168.1.1, roles: [controlPlane, etcd], colour: blue }",
      "",
    ].join("\n"));
    const { code, stdout, stderr } = drydock(["validate", spec]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    const lines = stderr.trimEnd().split("\n");
    assert.deepEqual(lines, [
      `name: must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (${spec}:1)`,
      `network.cni: must be one of: cilium, calico, flannel, bridge (got "weave") (${spec}:2)`,
      `infrastructure.hosts[0].colour: unknown field; allowed fields here: name, address, roles, pool, reprovision (${spec}:6)`,
    ]);
    assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("validate: a good spec exits 0; --print shows every default", () => {
  const ok = drydock(["validate", join(ROOT, "examples", "minimal.yaml")]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /valid \(cluster minimal, hosts\)/);
  const printed = drydock(["validate", "--print", join(ROOT, "examples", "minimal.yaml")]);
  assert.equal(printed.code, 0);
  assert.match(printed.stdout, /encryptionAtRest: secretbox/);
  assert.match(printed.stdout, /topology: stacked/);
});

test("usage errors exit 2 with usage", () => {
  for (const args of [["frobnicate"], ["validate"], ["render", "a.yaml", "b.yaml"], ["render", "--bogus"]]) {
    const { code, stderr } = drydock(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /^drydock: /);
    assert.match(stderr, /usage:/);
  }
});

for (const file of exampleFiles()) {
  test(`render ${basename(file)}: exit 0 and plan.json as specified`, () => {
    const out = tempDir();
    try {
      const { code, stdout, stderr } = drydock(["render", file, "--out", out]);
      assert.equal(code, 0, stderr);
      const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
      assert.ok(Array.isArray(plan.hosts) && plan.hosts.length > 0);
      assert.ok(Array.isArray(plan.steps));
      for (const host of plan.hosts) {
        assert.equal(typeof host.name, "string");
        assert.match(host.address, /^\d+\.\d+\.\d+\.\d+$/);
        assert.ok(host.roles.length > 0);
        const k8sNode = host.roles.includes("controlPlane") || host.roles.includes("worker");
        if (k8sNode) assert.match(host.podCIDR, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
        else assert.equal(host.podCIDR, null);
        assert.match(stdout, new RegExp(`${host.name}\\s+${host.address.replaceAll(".", "\\.")}`));
      }
      assert.equal(plan.network.clusterDNS, "10.96.0.10");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test("render with no spec renders the bundled HA example into ./out", () => {
  const cwd = tempDir();
  try {
    const { code, stdout } = drydock(["render"], cwd);
    assert.equal(code, 0);
    assert.match(stdout, /aws-ha\.yaml \(cluster prod\)/);
    const plan = JSON.parse(readFileSync(join(cwd, "out", "plan.json"), "utf8"));
    assert.equal(plan.cluster, "prod");
    assert.equal(plan.hosts.length, 9);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("render replaces only what it owns in the output folder", () => {
  const out = tempDir();
  try {
    mkdirSync(join(out, "hosts", "stale-host"), { recursive: true });
    writeFileSync(join(out, "keep-me.txt"), "mine");
    assert.equal(drydock(["render", join(ROOT, "examples", "minimal.yaml"), "--out", out]).code, 0);
    assert.ok(!existsSync(join(out, "hosts", "stale-host")), "stale host output removed");
    assert.equal(readFileSync(join(out, "keep-me.txt"), "utf8"), "mine");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("render of an invalid spec writes nothing and exits 1", () => {
  const out = tempDir();
  try {
    const spec = join(out, "bad.yaml");
    writeFileSync(spec, "name: x\n");
    const { code, stderr } = drydock(["render", spec, "--out", join(out, "r")]);
    assert.equal(code, 1);
    assert.match(stderr, /^infrastructure: is required/);
    assert.ok(!existsSync(join(out, "r")));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
