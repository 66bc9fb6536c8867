// Rendered host files driven through real programs: systemd-analyze verifies
// every unit; Debian's containerd starts from the rendered config (version 2).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify as toml } from "smol-toml";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { CONTAINERD_CONFIG_PATH, containerdConfig, containerdConfigVersion, DEFAULT_CONTAINERD_PATHS } from "../../hosts/containerd";
import { exampleFiles, hostsBase } from "../helpers";
import { ProcessGroup, requireBinaries, run, waitFor } from "./helpers";

before(() => requireBinaries("systemd-analyze", "containerd", "ctr"));

test("systemd-analyze verify accepts every rendered unit of every example", () => {
  const root = mkdtempSync(join(tmpdir(), "drydock-units-"));
  try {
    // systemd-analyze --root needs the system's own units (targets) in the root.
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
    const units = new Map<string, string>();
    for (const file of exampleFiles()) {
      for (const f of renderCluster(requireSpec(loadSpecFile(file))).files) {
        const m = /^hosts\/([^/]+)(\/etc\/systemd\/system\/.+\.(?:service|timer))$/.exec(f.path);
        if (m) units.set(`${file.split("/").pop()}:${m[1]}${m[2]}`, f.content);
      }
    }
    assert.ok(units.size >= 20, `units rendered: ${units.size}`);
    for (const [where, content] of units) {
      const unitName = where.split("/").pop()!;
      const unitPath = join(root, "etc/systemd/system", unitName);
      mkdirSync(dirname(unitPath), { recursive: true });
      writeFileSync(unitPath, content);
      // Every executable the unit names must exist in the root: stand-ins for the installed binaries.
      for (const exec of content.matchAll(/^Exec\w+=-?(\S+)/gm)) {
        const target = join(root, exec[1]!);
        if (!existsSync(target)) {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, "#!/bin/sh\n");
          chmodSync(target, 0o755);
        }
      }
      const result = run("systemd-analyze", ["verify", `--root=${root}`, unitPath], { timeoutMs: 60_000 });
      assert.equal(result.code, 0, `${where}: ${result.stderr}`);
      assert.equal(result.stderr.trim(), "", `${where}: systemd-analyze warned: ${result.stderr}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("Debian's containerd starts from the rendered 1.7-line config (version 2) and its CRI plugin is ok", async () => {
  const input = hostsBase();
  input.containerd = { version: "1.7.34", registryMirrors: { "docker.io": ["https://mirror.example.com"] } };
  const spec = requireSpec(validateSpec(input));
  assert.equal(containerdConfigVersion(spec.containerd.version), 2);
  const rendered = renderCluster(spec).files.find((f) => f.path === `hosts/w-1${CONTAINERD_CONFIG_PATH}`)!;
  assert.equal(rendered.content, toml(containerdConfig(spec)), "rendered file is the renderer's config");

  const work = mkdtempSync(join(tmpdir(), "drydock-containerd-"));
  const procs = new ProcessGroup();
  try {
    const paths = {
      ...DEFAULT_CONTAINERD_PATHS,
      root: join(work, "root"),
      state: join(work, "state"),
      socket: join(work, "containerd.sock"),
      certsDir: join(work, "certs.d"),
      cniConfDir: join(work, "net.d"),
    };
    // The mirror's hosts.toml, as rendered, in the redirected certs.d.
    const hostsToml = renderCluster(spec).files.find((f) => f.path === "hosts/w-1/etc/containerd/certs.d/docker.io/hosts.toml")!;
    mkdirSync(join(paths.certsDir, "docker.io"), { recursive: true });
    writeFileSync(join(paths.certsDir, "docker.io", "hosts.toml"), hostsToml.content);
    const config = join(work, "config.toml");
    writeFileSync(config, toml(containerdConfig(spec, paths)));
    const daemon = procs.start("containerd", ["--config", config]);
    const plugins = () => run("ctr", ["--address", paths.socket, "plugins", "ls"], { timeoutMs: 10_000 });
    await waitFor("containerd socket", () => plugins().code === 0, 100, 200);
    const cri = plugins().stdout.split("\n").find((l) => /io\.containerd\.grpc\.v1\s+cri\s/.test(l));
    assert.ok(cri, `CRI plugin listed:\n${plugins().stdout}\n${procs.logs.get(daemon)}`);
    assert.match(cri!, /\sok\s*$/, `CRI plugin status: ${cri}\n${procs.logs.get(daemon)?.slice(-3000)}`);
    const log = procs.logs.get(daemon) ?? "";
    assert.doesNotMatch(log, /failed to load plugin io\.containerd\.grpc\.v1\.cri|unknown key|toml:/i);
    assert.match(readFileSync(config, "utf8"), /SystemdCgroup = true/);
  } finally {
    await procs.stopAll();
    rmSync(work, { recursive: true, force: true });
  }
});
