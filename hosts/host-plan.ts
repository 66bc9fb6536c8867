// Every host's plan: the files it receives and the ordered steps that bring it up.
// The shape (hosts, paths, steps) depends only on the spec; contents also on PKI.
import type { Arch } from "../spec/catalog";
import { isKubernetesNode, type PlannedHost } from "../spec/addresses";
import { etcdInstall, nodeInstall } from "./artifacts";
import { containerdFiles, containerdStartStep } from "./containerd";
import { APISERVER_READY_STEP, apiServerReadyStep, controlPlaneFiles, controlPlanePods, controlPlanePodsStep } from "./control-plane";
import { etcdFiles, etcdHealthyStep, etcdMembers, etcdStartStep } from "./etcd";
import { etcdBackupFiles, etcdSnapshotsStep } from "./etcd-backup";
import { JOIN_SCRIPT, joinScript } from "./etcd-membership";
import { addFiles, publicFile, type HostFile } from "./files";
import { clusterFiles, clusterManifests, clusterSteps } from "./cluster-manifests";
import { cniNodeFiles, podRoutesStep } from "./cni";
import { installScript } from "./install";
import { kubeletFiles, kubeletStartStep } from "./kubelet";
import { osFiles, osPrepStep } from "./os";
import { loadBalancerFiles, loadBalancerStep } from "./load-balancer";
import { endpointUrl, pkiFilesForHost, type PkiContext } from "./pki-files";
import { buildStep, restartsOnInstall, stepId, type HostStep, type StepDraft } from "./steps";

export const DEFAULT_ARCH: Arch = "amd64";

export interface HostPlan {
  readonly host: PlannedHost;
  readonly files: readonly HostFile[];
  readonly steps: readonly HostStep[];
}

const has = (h: PlannedHost, role: PlannedHost["roles"][number]) => h.roles.includes(role);

export function hostPlans(ctx: PkiContext): HostPlan[] {
  const shared = clusterLayout(ctx);
  return ctx.addresses.hosts.map((host) => planHost(ctx, shared, host));
}

/** One host's plan. Its material needs only the host's own certificates (hostCertificateIds). */
export function hostPlan(ctx: PkiContext, host: PlannedHost): HostPlan {
  return planHost(ctx, clusterLayout(ctx), host);
}

/** What every host's plan refers to: the cluster's members and the steps hosts wait on. */
interface ClusterLayout {
  readonly members: readonly PlannedHost[];
  readonly controlPlanes: readonly PlannedHost[];
  readonly etcdHealthy: readonly string[];
  readonly apiReady: readonly string[];
  readonly kubeletsStarted: readonly string[];
}

function clusterLayout(ctx: PkiContext): ClusterLayout {
  const hosts = ctx.addresses.hosts;
  const members = etcdMembers(hosts);
  const controlPlanes = hosts.filter((h) => has(h, "controlPlane"));
  return {
    members,
    controlPlanes,
    etcdHealthy: members.map((m) => stepId(m.name, "etcd-healthy")),
    apiReady: controlPlanes.map((h) => stepId(h.name, APISERVER_READY_STEP)),
    kubeletsStarted: hosts.filter((h) => isKubernetesNode(h.roles)).map((h) => stepId(h.name, "kubelet-start")),
  };
}

function planHost(ctx: PkiContext, layout: ClusterLayout, host: PlannedHost): HostPlan {
  const { spec, addresses } = ctx;
  const { members, controlPlanes, etcdHealthy, apiReady, kubeletsStarted } = layout;
  const first = controlPlanes[0]!;
  const port = spec.kubernetes.apiServer.port;
  const files: HostFile[] = [];
  const drafts: StepDraft[] = [];
  addFiles(files, pkiFilesForHost(ctx, host));
  const own = (name: string) => stepId(host.name, name);

  if (has(host, "etcd")) {
    addFiles(files, etcdFiles(spec, host, members));
    drafts.push({ name: "install-etcd", description: `install etcd ${spec.etcd.version} (SHA-256 verified)`, body: installScript(etcdInstall(spec, DEFAULT_ARCH)), check: null });
    addFiles(files, [publicFile(JOIN_SCRIPT, joinScript(host, members.filter((m) => m !== host)), 0o755)]);
    // Members (re)start one at a time, in member order, each ready before the next.
    const previousMember = members[members.indexOf(host) - 1];
    drafts.push(restartsOnInstall(etcdStartStep([own("install-etcd"), ...(previousMember ? [stepId(previousMember.name, "etcd-start")] : [])], members.filter((m) => m !== host), `bash ${JOIN_SCRIPT}`), "install-etcd"));
    drafts.push(etcdHealthyStep(members.map((m) => stepId(m.name, "etcd-start"))));
    addFiles(files, etcdBackupFiles(spec, host, members, ctx.snapshotStore ?? null));
    drafts.push(etcdSnapshotsStep([own("etcd-healthy")]));
  }
  if (isKubernetesNode(host.roles)) {
    addFiles(files, osFiles(spec.network.proxyMode, spec.network.ipvs?.scheduler ?? null));
    addFiles(files, containerdFiles(spec));
    addFiles(files, kubeletFiles(spec, host, addresses.clusterDNS));
    drafts.push(osPrepStep(spec.network.proxyMode, spec.network.ipvs?.scheduler ?? null));
    drafts.push({
      name: "install-node",
      description: `install kubelet and kubectl ${spec.kubernetes.version}, containerd ${spec.containerd.version}, runc, CNI plugins, crictl (SHA-256 verified)`,
      body: installScript(nodeInstall(spec, DEFAULT_ARCH)),
      check: null,
    });
    const cniFiles = cniNodeFiles(spec, host, addresses);
    addFiles(files, cniFiles);
    drafts.push(restartsOnInstall(containerdStartStep([own("os-prep"), own("install-node")], spec), "install-node"));
    if (cniFiles.some((f) => f.path.endsWith(".service"))) drafts.push(podRoutesStep([own("os-prep")]));
    if (has(host, "controlPlane")) {
      const pods = controlPlanePods(spec, host, addresses);
      addFiles(files, controlPlaneFiles(spec, host, addresses, pods));
      const lbFiles = loadBalancerFiles(spec, addresses, host);
      if (lbFiles.length > 0) {
        addFiles(files, lbFiles);
        drafts.push(loadBalancerStep(addresses, [own("os-prep")]));
      }
      // The kubelet starts the control plane's static pods once etcd can serve them;
      // control planes (re)start one at a time, each ready before the next.
      const previous = controlPlanes[controlPlanes.indexOf(host) - 1];
      drafts.push(restartsOnInstall(kubeletStartStep([own("containerd-start"), ...etcdHealthy, ...(previous ? [stepId(previous.name, APISERVER_READY_STEP)] : [])]), "install-node"));
      drafts.push(controlPlanePodsStep(pods, [own("kubelet-start")]));
      drafts.push(apiServerReadyStep(host, port, endpointUrl(ctx), [own("control-plane-pods")]));
    } else {
      // Workers register through the endpoint: every API server ready first.
      drafts.push(restartsOnInstall(kubeletStartStep([own("containerd-start"), ...apiReady]), "install-node"));
    }
  }
  if (host === first) {
    const manifests = clusterManifests(ctx);
    addFiles(files, clusterFiles(ctx, manifests));
    drafts.push(...clusterSteps(ctx, manifests, first, apiReady, kubeletsStarted));
  }
  const built = drafts.map((d) => buildStep(host.name, d));
  addFiles(files, built.map((b) => b.file));
  return { host, files, steps: built.map((b) => b.step) };
}
