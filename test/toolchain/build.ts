// Builds the test toolchain's binaries from the Go modules pinned here into a cache outside
// the repository, keyed by each module's go.mod/go.sum and the binary's build settings, so a
// warm cache builds nothing. Test infrastructure only: product code never imports this.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const TOOLCHAIN_DIR = __dirname;
export const CACHE_DIR = process.env.DRYDOCK_TOOLCHAIN_CACHE ?? "/var/cache/drydock-toolchain";
/** What a cluster needs: the tests' tools and the machines' binaries (not the conformance suite). */
export const CLUSTER_SETS: readonly string[] = ["bin", "node", "cni"];
/** The machines' Kubernetes binaries at the version the cluster tier upgrades to. */
export const UPGRADE_SET = "node-upgrade";
/** Every built binary is linked here under its own name. */
export const BIN_DIR = join(CACHE_DIR, "bin");

interface BinarySpec {
  name: string;
  module: string;
  package: string;
  version: string;
  ldflags: string;
  versionCommand: string[] | null;
  cgo?: boolean;
  tags?: string;
  dir?: string;
  /** A package's test binary (`go test -c`), as e2e.test is. */
  test?: boolean;
}

/**
 * The engine starts dynamic providers (drydock's PKI) through this plugin. Pulumi's releases
 * ship it as a three-line shell script beside the Node.js language host; this is the same
 * launcher, written here because the language host's module is not served to this project.
 */
const DYNAMIC_PROVIDER_LAUNCHER = `#!/bin/sh
# pulumi-resource-pulumi-nodejs: runs @pulumi/pulumi's dynamic provider host from the program's node_modules.
exec node "$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" "$@"
`;

export function binarySpecs(): BinarySpec[] {
  const file = JSON.parse(readFileSync(join(TOOLCHAIN_DIR, "binaries.json"), "utf8")) as { ldflagSets: Record<string, string>; binaries: BinarySpec[] };
  return file.binaries.map((spec) => {
    if (!spec.ldflags.startsWith("@")) return spec;
    const ldflags = file.ldflagSets[spec.ldflags.slice(1)];
    if (ldflags === undefined) throw new Error(`binaries.json: ${spec.name} names unknown ldflags set ${spec.ldflags}`);
    return { ...spec, ldflags };
  });
}

function goVersion(): string {
  const result = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`go is not installed or fails: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** The module's go.mod, go.sum and Go sources, in a stable order. */
function moduleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? moduleFiles(join(dir, e.name)) : /^go\.(mod|sum)$|\.go$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

function cacheKey(spec: BinarySpec, go: string): string {
  const hash = createHash("sha256");
  for (const file of moduleFiles(join(TOOLCHAIN_DIR, spec.module))) hash.update(file.slice(TOOLCHAIN_DIR.length)).update(readFileSync(file));
  const { dir: _linkedUnder, ...build } = spec; // where it is linked does not change what is built
  hash.update(JSON.stringify(build)).update(go);
  return hash.digest("hex").slice(0, 16);
}

/** Where a built binary is linked: bin (the tests' PATH), node (for the cluster's machines), cni or conformance. */
export function binaryPath(name: string, dir = "bin"): string {
  return join(CACHE_DIR, dir, name);
}

/**
 * Builds what is missing; returns one line per binary (built or cached, with its version).
 * dirs: which sets to build (bin: the tests' tools; node and cni: the cluster's machines;
 * conformance: the conformance suite); all by default.
 */
export function buildToolchain(log: (line: string) => void = console.log, dirs?: readonly string[]): string[] {
  const go = goVersion();
  mkdirSync(BIN_DIR, { recursive: true });
  const lines: string[] = [];
  for (const spec of binarySpecs().filter((s) => !dirs || dirs.includes(s.dir ?? "bin"))) {
    const dir = join(CACHE_DIR, `${spec.name}-${cacheKey(spec, go)}`);
    const target = join(dir, spec.name);
    let state = "cached";
    if (!existsSync(target)) {
      const started = Date.now();
      log(`toolchain: building ${spec.name} ${spec.version} (${spec.package}) with ${go}...`);
      mkdirSync(dir, { recursive: true });
      const partial = `${target}.partial`;
      const tags = spec.tags ? ["-tags", spec.tags] : [];
      const command = spec.test ? ["test", "-c", "-vet=off"] : ["build"];
      const build = spawnSync("go", [...command, "-trimpath", ...tags, "-o", partial, "-ldflags", spec.ldflags, spec.package], {
        cwd: join(TOOLCHAIN_DIR, spec.module),
        env: { ...process.env, CGO_ENABLED: spec.cgo ? "1" : "0", GOFLAGS: "-mod=readonly" },
        stdio: ["ignore", "inherit", "inherit"],
      });
      if (build.status !== 0) throw new Error(`toolchain: go build of ${spec.name} failed (exit ${build.status})`);
      renameSync(partial, target);
      state = `built in ${((Date.now() - started) / 1000).toFixed(0)} s`;
    }
    const link = binaryPath(spec.name, spec.dir);
    mkdirSync(join(link, ".."), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(target, link);
    const reported = spec.versionCommand ? `reports ${spawnSync(target, spec.versionCommand, { encoding: "utf8" }).stdout.trim().split("\n")[0]}` : "no version command";
    const line = `${spec.name} ${spec.version} (${state}; ${reported}) ${link}`;
    log(`toolchain: ${line}`);
    lines.push(line);
  }
  const launcher = binaryPath("pulumi-resource-pulumi-nodejs");
  writeFileSync(launcher, DYNAMIC_PROVIDER_LAUNCHER, { mode: 0o755 });
  log(`toolchain: pulumi-resource-pulumi-nodejs (launcher script) ${launcher}`);
  return lines;
}

if (require.main === module) {
  try {
    buildToolchain();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
