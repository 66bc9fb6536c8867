import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ROOT, exampleFiles } from "../helpers";

import { MANIFEST } from "../../cli/write-tree";

const BIN = join(ROOT, "bin", "drydock.js");

/** Every path under dir (to a depth) with its content, or "<dir>" / "<link>". */
function snapshot(dir: string, depth = 20, prefix = ""): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const stat = lstatSync(join(dir, rel));
    if (stat.isDirectory()) {
      found.set(rel, "<dir>");
      if (depth > 1 && name !== "node_modules" && name !== ".git") for (const [p, c] of snapshot(dir, depth - 1, rel)) found.set(p, c);
    } else found.set(rel, stat.isFile() ? readFileSync(join(dir, rel), "utf8") : "<other>");
  }
  return found;
}

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
        // Only the bridge CNI takes its ranges from drydock; other CNIs' come from the controller manager.
        const k8sNode = host.roles.includes("controlPlane") || host.roles.includes("worker");
        if (k8sNode && /^\s+cni: bridge$/m.test(readFileSync(file, "utf8"))) assert.match(host.podCIDR, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
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

test("render replaces its own earlier output, and nothing else", () => {
  const out = tempDir();
  try {
    const minimal = join(ROOT, "examples", "minimal.yaml");
    assert.equal(drydock(["render", join(ROOT, "examples", "hosts-ha.yaml"), "--out", out]).code, 0);
    assert.ok(existsSync(join(out, "hosts", "cp-2")));
    const manifest = JSON.parse(readFileSync(join(out, MANIFEST), "utf8"));
    assert.deepEqual(manifest.entries, ["cluster", "hosts", "plan.json"]);
    // A second render of another spec replaces the first whole: no host of the old spec is left.
    assert.equal(drydock(["render", minimal, "--out", out]).code, 0);
    assert.ok(!existsSync(join(out, "hosts", "cp-2")), "the earlier render's hosts are gone");
    assert.deepEqual(readdirSync(out).sort(), [MANIFEST, "cluster", "hosts", "plan.json"], "no staging or retired folders left");
    // A file drydock did not write: render refuses and deletes nothing.
    writeFileSync(join(out, "hosts", "inventory"), "mine");
    writeFileSync(join(out, "my-notes.txt"), "mine");
    const before = snapshot(out);
    const refused = drydock(["render", minimal, "--out", out]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, `drydock: --out ${out}: the folder holds files drydock render did not write (my-notes.txt); render into a new or empty folder, or one an earlier render wrote\n`);
    assert.deepEqual(snapshot(out), before, "nothing changed");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("render refuses folders it did not write: the repository itself, --out '', a system folder", () => {
  let checked = 0;
  for (const out of [".", "", "/etc", ROOT]) {
    const before = snapshot(ROOT, 1);
    const { code, stdout, stderr } = drydock(["render", join(ROOT, "examples", "minimal.yaml"), "--out", out]);
    assert.equal(code, 2, `--out ${out}: ${stderr}`);
    assert.equal(stdout, "");
    assert.equal(stderr.split("\n").length, 2, "one line");
    assert.match(stderr, /^drydock: --out[ :]/);
    assert.deepEqual(snapshot(ROOT, 1), before, "the checkout is untouched");
    assert.ok(existsSync(join(ROOT, "hosts", "render.ts")));
    checked++;
  }
  assert.equal(checked, 4);
  assert.ok(existsSync("/etc/hosts"));
});

test("unusable output paths: one line naming the path and the problem, exit 2, within a bound", () => {
  const dir = tempDir();
  const readOnly = join(dir, "ro");
  mkdirSync(readOnly);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "drydock-test-ro", readOnly]).status === 0;
  try {
    writeFileSync(join(dir, "a-file"), "x");
    const cases: [string, RegExp][] = [
      [join(dir, "a-file"), /: is a file, not a folder$/],
      [join(dir, "a-file", "below"), /: a part of the path is a file, not a folder$/],
      ["/proc/drydock-out", /: cannot create \/proc\/drydock-out/],
      ["/dev/null/out", /: .*not a folder$/],
    ];
    if (mounted) cases.push([join(readOnly, "out"), /: cannot create .*: read-only file system$/]);
    for (const [path, expected] of cases) {
      const { code, stdout, stderr } = drydock(["render", join(ROOT, "examples", "minimal.yaml"), "--out", path], dir);
      assert.equal(code, 2, `${path}: ${stderr}`);
      assert.equal(stdout, "");
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.ok(lines[0]!.startsWith(`drydock: --out ${path}: `), lines[0]);
      assert.match(lines[0]!, expected);
    }
    assert.equal(cases.length, mounted ? 5 : 4);
  } finally {
    if (mounted) spawnSync("umount", [readOnly]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an interrupted render leaves the previous one whole, and the next render finishes the job", async () => {
  const dir = tempDir();
  try {
    const spec = join(dir, "big.yaml");
    const hosts = [
      "    - { name: cp-1, address: 10.30.0.10, roles: [controlPlane, etcd] }",
      ...Array.from({ length: 400 }, (_, i) => `    - { name: w-${i + 1}, address: 10.30.${1 + Math.floor(i / 200)}.${10 + (i % 200)}, roles: [worker] }`),
    ];
    writeFileSync(spec, ["name: big", "kubernetes: { podCIDR: 10.128.0.0/14 }", "infrastructure:", "  provider: hosts", "  hosts:", ...hosts, ""].join("\n"));
    const out = join(dir, "out");
    assert.equal(drydock(["render", join(ROOT, "examples", "minimal.yaml"), "--out", out]).code, 0);
    const before = snapshot(out);
    const child = spawn(process.execPath, [BIN, "render", spec, "--out", out], { stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    let killedWhileStaging = false;
    for (let i = 0; i < 600; i++) {
      const staging = readdirSync(out).find((n) => n.startsWith(".drydock-staging-"));
      if (staging && existsSync(join(out, staging, "hosts"))) {
        child.kill("SIGKILL");
        killedWhileStaging = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await exited;
    assert.ok(killedWhileStaging, "the render was stopped while it wrote its new tree");
    const after = snapshot(out);
    for (const [path, content] of before) assert.equal(after.get(path), content, `${path} is whole`);
    assert.ok([...after.keys()].some((p) => p.startsWith(".drydock-staging-")), "the partial tree is set aside, not in place");
    assert.equal(drydock(["render", join(ROOT, "examples", "minimal.yaml"), "--out", out]).code, 0);
    assert.deepEqual(readdirSync(out).sort(), [MANIFEST, "cluster", "hosts", "plan.json"], "the leftover is cleaned up");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("validate: unreadable, empty, huge and endless inputs get one line each, within a bound", () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, "empty.yaml"), "");
    writeFileSync(join(dir, "huge.yaml"), `name: x\nnote: "${"a".repeat(5 * 1024 * 1024)}"\n`);
    // An empty file is an invalid spec (1); a file that cannot be read is an unusable path (2).
    const cases: [string, string, number][] = [
      [join(dir, "empty.yaml"), `${join(dir, "empty.yaml")}: the spec is empty; it must be a YAML mapping with at least name and infrastructure`, 1],
      [join(dir, "huge.yaml"), `${join(dir, "huge.yaml")}: cannot read the spec file: larger than 4 MiB; a spec is a short YAML file`, 2],
      ["/dev/zero", "/dev/zero: cannot read the spec file: larger than 4 MiB; a spec is a short YAML file", 2],
      [dir, `${dir}: cannot read the spec file: is a folder, not a file`, 2],
      [join(dir, "missing.yaml"), `${join(dir, "missing.yaml")}: cannot read the spec file: no such file`, 2],
    ];
    for (const [path, line, exit] of cases) {
      const { code, stderr } = drydock(["validate", path]);
      assert.equal(code, exit, path);
      assert.equal(stderr, `${line}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("validate takes several files, reports each, and exits 1 if any is invalid", () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, "gcp.yaml"), "name: x\ninfrastructure: { provider: gcp }\n");
    const good = join(ROOT, "examples", "minimal.yaml");
    const all = drydock(["validate", good, join(dir, "gcp.yaml"), join(ROOT, "examples", "hosts-ha.yaml")]);
    assert.equal(all.code, 1);
    assert.equal(all.stdout.trimEnd().split("\n").length, 2, "two valid files reported");
    assert.equal(all.stderr, `infrastructure.provider: must be one of: aws, hosts, local (${join(dir, "gcp.yaml")}:2)\n`, "the path once, the allowed values");
    assert.equal(drydock(["validate", ...exampleFiles()]).code, 0);
    assert.equal(drydock(["validate", "--print", good, good]).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
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
