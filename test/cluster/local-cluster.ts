// examples/local-ha.yaml brought up offline, as an air-gapped site would: the toolchain's
// builds packed behind artifacts.mirror and overrides, images in a registry reached through
// containerd registryMirrors, both served on the local backend's bridge. Shared by the cluster
// suite and `npm run local:up` (test infrastructure: product code never imports it).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { requireBinaries, run, runOk, waitFor } from "../integration/helpers";
import { debianMirror } from "../e2e/machines";
import { EngineStack, logTo } from "../e2e/engine";
import { EXAMPLES_DIR, ROOT } from "../helpers";
import { ensureRootfs } from "../../local/rootfs";
import { addonVersions } from "../../spec/catalog";
import { packArtifacts, packKubernetes, type Override } from "./artifacts";
import { buildAndPush, clusterImages, kubernetesImages, registryConfig } from "./images";
import { UPGRADE_SET } from "../toolchain/build";

export const STACK = "local";
/** examples/local-ha.yaml's subnet. */
export const SUBNET = "10.213.0.0/24";
export const GATEWAY = "10.213.0.1";
export const VIP = "10.213.0.2";
export const MIRROR_PORT = 18080;
export const REGISTRY_PORT = 5000;
export const PUSH_REGISTRY = "127.0.0.1:35000";
export const KUBERNETES = "1.36.3";
/** The version the cluster tier upgrades the cluster to (built in the toolchain's node-upgrade set). */
export const UPGRADE_TO = "1.36.4";
/** A Debian image with bash, curl, socat and getent for the suite's pods. */
export const TOOLBOX = "registry.drydock.test/toolbox:1";
export const MACHINES = ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"];

/** Starts a long-running server (the caller decides its lifetime: a test's process group, or detached). */
export type StartServer = (cmd: string, args: string[]) => void;

export interface PreparedCluster {
  readonly specFile: string;
  readonly sshKey: string;
  /** With withUpgrade: the overrides for UPGRADE_TO's kubelet and kubectl (its images are pushed too). */
  readonly upgradeOverrides?: Override[];
}

/**
 * Builds what the machines need, starts the servers, writes the spec and the SSH key into workDir.
 * withUpgrade: also serves UPGRADE_TO's binaries and images, for an upgrade through the spec.
 */
export async function prepareLocalCluster(workDir: string, startServer: StartServer, log: (line: string) => void, withUpgrade = false): Promise<PreparedCluster> {
  requireBinaries("systemd-nspawn", "debootstrap", "umoci", "skopeo", "docker-registry", "gcc", "iptables", "ssh", "ssh-keygen");
  const mirror = debianMirror();
  const rootfs = ensureRootfs(mirror);

  // Images: pushed through a registry on loopback, served to the machines by one on the bridge.
  writeFileSync(join(workDir, "registry-push.yml"), registryConfig(PUSH_REGISTRY));
  writeFileSync(join(workDir, "registry-bridge.yml"), registryConfig(`${GATEWAY}:${REGISTRY_PORT}`));
  startServer("docker-registry", ["serve", join(workDir, "registry-push.yml")]);
  await waitFor("the push registry", () => run("curl", ["-sf", `http://${PUSH_REGISTRY}/v2/`]).code === 0, 100, 200);
  const images = [
    ...clusterImages({ kubernetes: KUBERNETES, pause: "3.10.2", coredns: "1.14.2", metricsServer: addonVersions["metrics-server"] }, workDir, rootfs),
    { repository: "toolbox", tag: "1", base: rootfs, files: {}, entrypoint: ["/bin/bash"] },
    ...(withUpgrade ? kubernetesImages(UPGRADE_TO, rootfs, UPGRADE_SET) : []),
  ];
  buildAndPush(images, workDir, PUSH_REGISTRY, log);
  // The bridge exists only once pulumi up has created it: serve when its address appears (bounded).
  startServer("bash", ["-c", `for i in $(seq 1 3600); do ip -o addr show | grep -q " ${GATEWAY}/" && exec docker-registry serve ${join(workDir, "registry-bridge.yml")}; sleep 0.25; done; exit 1`]);

  const mirrorUrl = `http://${GATEWAY}:${MIRROR_PORT}`;
  const overrides = packArtifacts(join(workDir, "mirror"), mirrorUrl, { kubernetes: KUBERNETES, etcd: "3.6.14", containerd: "2.3.4", runc: "1.4.3", cniPlugins: "1.9.1", crictl: "1.36.0" });
  const upgradeOverrides = withUpgrade ? packKubernetes(join(workDir, "mirror"), mirrorUrl, UPGRADE_TO, UPGRADE_SET) : undefined;
  startServer(process.execPath, ["--import", "tsx", join(ROOT, "test/e2e/mirror-main.ts"), join(workDir, "mirror"), GATEWAY, String(MIRROR_PORT)]);

  const spec = parse(readFileSync(join(EXAMPLES_DIR, "local-ha.yaml"), "utf8"));
  spec.kubernetes = { version: KUBERNETES };
  spec.artifacts = { mirror: mirrorUrl, overrides };
  const registry = [`http://${GATEWAY}:${REGISTRY_PORT}`];
  spec.containerd = { registryMirrors: { "registry.k8s.io": registry, "registry.drydock.test": registry } };
  // The example's iptables mode unless asked for another (DRYDOCK_CLUSTER_PROXY_MODE=nftables).
  if (process.env.DRYDOCK_CLUSTER_PROXY_MODE) spec.network.proxyMode = process.env.DRYDOCK_CLUSTER_PROXY_MODE;
  // No route out of this machine: nothing to masquerade for.
  spec.infrastructure.local = { ...spec.infrastructure.local, nat: false, debianMirror: mirror };
  const specFile = join(workDir, "cluster.yaml");
  writeFileSync(specFile, stringify(spec));

  const sshKey = join(workDir, "id_ed25519");
  if (!existsSync(sshKey)) runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", sshKey]);
  return { specFile, sshKey, ...(upgradeOverrides ? { upgradeOverrides } : {}) };
}

/** The stack in workDir, run by the real engine with index.ts inline. */
export async function openEngine(workDir: string): Promise<{ engine: EngineStack; logFile: string }> {
  const logFile = join(workDir, "engine.log");
  const entry = require.resolve(join(ROOT, "index.ts"));
  const engine = await EngineStack.create({
    workDir,
    stackName: STACK,
    log: logTo(logFile),
    program: async () => {
      delete require.cache[entry];
      return require(entry);
    },
  });
  return { engine, logFile };
}

export async function configure(engine: EngineStack, specFile: string, sshKey: string): Promise<void> {
  await engine.setConfig({ "drydock:specFile": { value: specFile }, "drydock:sshPrivateKey": { value: readFileSync(sshKey, "utf8"), secret: true } });
}
