// containerd for the pinned line: config version 3 for 2.x, version 2 for 1.7,
// runc with systemd cgroups, the pause image for the Kubernetes minor, CNI dirs,
// registry mirrors as hosts.toml files; plus crictl's config.
import { stringify as toml } from "smol-toml";
import { companionVersions, compareVersions, minorOf } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import { BIN_DIR, CNI_BIN_DIR, RUNC_PATH } from "./artifacts";
import { type HostFile, publicFile } from "./files";
import type { StepDraft } from "./steps";

export const CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml";
export const CONTAINERD_UNIT_PATH = "/etc/systemd/system/containerd.service";
export const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";
export const CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d";
export const CNI_CONF_DIR = "/etc/cni/net.d";
export const CRICTL_CONFIG_PATH = "/etc/crictl.yaml";

export interface ContainerdPaths {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly certsDir: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly runc: string;
}

export const DEFAULT_CONTAINERD_PATHS: ContainerdPaths = {
  root: "/var/lib/containerd",
  state: "/run/containerd",
  socket: CONTAINERD_SOCKET,
  certsDir: CONTAINERD_CERTS_DIR,
  cniBinDir: CNI_BIN_DIR,
  cniConfDir: CNI_CONF_DIR,
  runc: RUNC_PATH,
};

export function pauseImage(kubernetesVersion: string): string {
  return `registry.k8s.io/pause:${companionVersions(kubernetesVersion).pause}`;
}

/** The config-file schema version a containerd release reads. */
export function containerdConfigVersion(containerdVersion: string): 2 | 3 {
  return Number(containerdVersion.split(".")[0]) >= 2 ? 3 : 2;
}

export function containerdConfig(spec: ClusterSpec, paths: ContainerdPaths = DEFAULT_CONTAINERD_PATHS): Record<string, unknown> {
  const runc = {
    runtime_type: "io.containerd.runc.v2",
    options: { SystemdCgroup: true, BinaryName: paths.runc },
  };
  const base = { root: paths.root, state: paths.state, grpc: { address: paths.socket } };
  const pause = pauseImage(spec.kubernetes.version);
  // Without CAP_SYS_RESOURCE (local machines) runc cannot lower a container's OOM score below the runtime's own.
  const oomScore = spec.containerd.restrictOOMScoreAdj ? { restrict_oom_score_adj: true } : {};
  if (containerdConfigVersion(spec.containerd.version) === 3) {
    // cni.bin_dirs replaces bin_dir from 2.1 (bin_dir is deprecated there).
    const binDirs = compareVersions(minorOf(spec.containerd.version), "2.1") >= 0 ? { bin_dirs: [paths.cniBinDir] } : { bin_dir: paths.cniBinDir };
    return {
      version: 3,
      ...base,
      plugins: {
        "io.containerd.cri.v1.images": {
          snapshotter: "overlayfs",
          pinned_images: { sandbox: pause },
          registry: { config_path: paths.certsDir },
        },
        "io.containerd.cri.v1.runtime": {
          containerd: { default_runtime_name: "runc", runtimes: { runc } },
          cni: { ...binDirs, conf_dir: paths.cniConfDir },
          ...oomScore,
        },
      },
    };
  }
  return {
    version: 2,
    ...base,
    plugins: {
      "io.containerd.grpc.v1.cri": {
        sandbox_image: pause,
        ...oomScore,
        containerd: { snapshotter: "overlayfs", default_runtime_name: "runc", runtimes: { runc } },
        cni: { bin_dir: paths.cniBinDir, conf_dir: paths.cniConfDir },
        registry: { config_path: paths.certsDir },
      },
    },
  };
}

/** Registry hosts that are not their own API host. */
const UPSTREAM_SERVER: Readonly<Record<string, string>> = { "docker.io": "https://registry-1.docker.io" };

export function registryHostsToml(registry: string, mirrors: readonly string[]): string {
  const server = UPSTREAM_SERVER[registry] ?? `https://${registry}`;
  return toml({ server, host: Object.fromEntries(mirrors.map((m) => [m, { capabilities: ["pull", "resolve"] }])) });
}

export function containerdUnit(binDir = BIN_DIR): string {
  return `[Unit]
Description=containerd container runtime (drydock)
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${binDir}/containerd --config ${CONTAINERD_CONFIG_PATH}
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`;
}

export function crictlConfig(): string {
  const endpoint = `unix://${CONTAINERD_SOCKET}`;
  return `runtime-endpoint: ${endpoint}\nimage-endpoint: ${endpoint}\ntimeout: 10\n`;
}

export function containerdFiles(spec: ClusterSpec): HostFile[] {
  return [
    publicFile(CONTAINERD_CONFIG_PATH, toml(containerdConfig(spec))),
    publicFile(CONTAINERD_UNIT_PATH, containerdUnit()),
    publicFile(CRICTL_CONFIG_PATH, crictlConfig()),
    ...Object.entries(spec.containerd.registryMirrors).map(([registry, mirrors]) =>
      publicFile(`${CONTAINERD_CERTS_DIR}/${registry}/hosts.toml`, registryHostsToml(registry, mirrors)),
    ),
  ];
}

export function containerdStartStep(dependsOn: readonly string[], spec: ClusterSpec): StepDraft {
  return {
    name: "containerd-start",
    description: "start containerd with the CRI plugin",
    dependsOn,
    triggers: [CONTAINERD_CONFIG_PATH, CONTAINERD_UNIT_PATH, ...Object.keys(spec.containerd.registryMirrors).map((r) => `${CONTAINERD_CERTS_DIR}/${r}/hosts.toml`)],
    body: `
systemctl daemon-reload
systemctl enable containerd
systemctl restart containerd`,
    check: { command: `${BIN_DIR}/crictl info >/dev/null`, timeoutSeconds: 60 },
  };
}
