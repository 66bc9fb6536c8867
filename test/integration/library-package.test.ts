// drydock as a library the way users get it: `npm pack`, installed from the tarball into
// examples/library (a Pulumi program of its own), type-checked against the shipped
// declarations and run under Pulumi's mock runtime with the consumer's own @pulumi/pulumi.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLES_DIR, ROOT } from "../helpers";

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} in ${cwd}: ${r.error ?? ""}${r.stderr}${r.stdout}`);
  return r.stdout;
}

// Every resource is recorded; dynamic resources (drydock's PKI) run their serialized provider
// the way Pulumi's provider host loads it, so the closures must resolve inside the package.
const MOCK_RUNNER = `
const pulumi = require("@pulumi/pulumi");
const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc");
const unwrap = (v) => v && typeof v === "object" ? (v[specialSigKey] === specialSecretSig ? unwrap(v.value)
  : Array.isArray(v) ? v.map(unwrap) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]))) : v;
const registered = [];
pulumi.runtime.setMocks({
  newResource: async (args) => {
    registered.push(args.type);
    if (!args.type.startsWith("pulumi-nodejs:dynamic/")) return { id: args.name + "-id", state: args.inputs };
    const inputs = unwrap(args.inputs);
    const mod = { exports: {} };
    new Function("module", "exports", "require", inputs.__provider)(mod, mod.exports, require);
    const created = await mod.exports.handler().create(inputs);
    return { id: created.id, state: { ...created.outs, __provider: inputs.__provider } };
  },
  call: (args) => args.inputs,
}, "drydock-library-example", "test", false);
pulumi.runtime.setAllConfig({
  "drydock-library-example:specFile": process.argv[2],
  "drydock-library-example:sshPrivateKey": "test-only-not-a-key",
}, ["drydock-library-example:sshPrivateKey"]);
const program = require("./bin/index.js");
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings");
program.apiEndpoint.apply(async (endpoint) => {
  await waitForRPCs();
  const counts = {};
  for (const t of registered) counts[t] = (counts[t] ?? 0) + 1;
  process.stdout.write(JSON.stringify({ endpoint, counts }));
});
`;

test("the packed npm package installs into a Pulumi program of its own, type-checks and builds a cluster", { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "drydock-library-"));
  try {
    sh("npm", ["pack", "--pack-destination", work], ROOT);
    const tarballs = readdirSync(work).filter((f) => f.endsWith(".tgz"));
    assert.deepEqual(tarballs, ["drydock-0.1.0.tgz"]);
    const listing = sh("tar", ["-tzf", join(work, tarballs[0]!)], work).split("\n");
    for (const shipped of ["package/dist/lib.js", "package/dist/lib.d.ts", "package/dist/components/cluster.d.ts", "package/dist/spec/catalog-data.json", "package/dist/pki/issue-worker.js", "package/bin/drydock.js"]) {
      assert.ok(listing.includes(shipped), `the package ships ${shipped}`);
    }
    assert.ok(!listing.some((f) => f.startsWith("package/test/") || f.endsWith(".ts") && !f.endsWith(".d.ts")), "no tests and no TypeScript sources in the package");

    const consumer = join(work, "consumer");
    cpSync(join(EXAMPLES_DIR, "library"), consumer, { recursive: true });
    // The example names the tarball where `npm pack` in a checkout puts it; here it is one folder up.
    sh("npm", ["pkg", "set", `dependencies.drydock=file:${join(work, tarballs[0]!)}`], consumer);
    sh("npm", ["install", "--prefer-offline", "--no-package-lock"], consumer);
    assert.ok(existsSync(join(consumer, "node_modules", "drydock", "dist", "lib.js")));
    assert.ok(!existsSync(join(consumer, "node_modules", "drydock", "node_modules", "@pulumi", "pulumi")), "one @pulumi/pulumi: the consumer's (peer dependency)");

    sh(join(consumer, "node_modules", ".bin", "tsc"), ["-p", "."], consumer);
    writeFileSync(join(consumer, "mock-run.js"), MOCK_RUNNER);
    const out = JSON.parse(sh(process.execPath, ["mock-run.js", join(EXAMPLES_DIR, "hosts-ha.yaml")], consumer)) as { endpoint: string; counts: Record<string, number> };
    assert.match(out.endpoint, /^https:\/\/[\d.]+:\d+$/);
    assert.equal(out.counts["drydock:index:Cluster"], 1);
    assert.equal(out.counts["drydock:index:Pki"], 1);
    assert.ok((out.counts["command:remote:Command"] ?? 0) > 5, `remote commands: ${out.counts["command:remote:Command"]}`);

    // The package's CLI runs from its built JavaScript.
    const cli = spawnSync(join(consumer, "node_modules", ".bin", "drydock"), ["validate", join(EXAMPLES_DIR, "minimal.yaml")], { cwd: consumer, encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /valid \(cluster minimal, hosts\)/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
