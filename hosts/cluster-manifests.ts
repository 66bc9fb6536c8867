// Everything applied to the cluster once the API is up, in apply order, and the
// steps on the first control-plane host that apply it and wait for the nodes.
import { stringify } from "yaml";
import { isKubernetesNode, type PlannedHost } from "../spec/addresses";
import { artifactVersions } from "../spec/artifact-use";
import { artifact } from "../spec/catalog";
import { corednsManifest, kubeProxyManifest, metricsServerManifest, rbacManifest, type Manifest } from "./addons";
import { BIN_DIR } from "./artifacts";
import { calicoInstallation, calicoReferences, ciliumReference, ciliumValues, flannelManifest, type UpstreamReference } from "./cni";
import { adminKubectl } from "./control-plane";
import { type HostFile, publicFile, secretFile } from "./files";
import { type InstallItem, installScript } from "./install";
import { CONTROL_PLANE_LABEL } from "./kubelet";
import { clientKubeconfig, endpointUrl, KUBECONFIG_PATHS, type PkiContext } from "./pki-files";
import type { StepDraft } from "./steps";

export const CLUSTER_DIR = "/etc/kubernetes/drydock";
export const MANIFEST_DIR = `${CLUSTER_DIR}/manifests`;
export const HELM_DIR = `${CLUSTER_DIR}/helm`;
export const OBJECTS_LIST = `${CLUSTER_DIR}/objects.list`;
/** What the last successful apply put in the cluster; the next apply removes what left the list. */
export const APPLIED_LIST = "/var/lib/drydock/applied-objects.list";

/** One line per object drydock owns: "<type for kubectl> <namespace or -> <name>", sorted. */
export function objectsList(manifests: readonly Manifest[]): string {
  const lines = manifests.flatMap((m) =>
    m.objects.map((o) => {
      const obj = o as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
      const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
      const type = group ? `${obj.kind}.${version}.${group}` : obj.kind;
      return `${type} ${obj.metadata.namespace ?? "-"} ${obj.metadata.name}`;
    }),
  );
  return `${[...new Set(lines)].sort().join("\n")}\n`;
}

/** Deletes what the previous apply owned and this one does not, then records this one. */
export function pruneScript(kubectl: (args: string) => string, lists = { current: OBJECTS_LIST, applied: APPLIED_LIST }): string {
  const { current, applied } = lists;
  return `mkdir -p "$(dirname ${applied})"
if [ -f ${applied} ]; then
  comm -23 <(sort ${applied}) <(sort ${current}) | while read -r type namespace name; do
    [ -n "$type" ] || continue
    if [ "$namespace" = "-" ]; then ${kubectl('delete --ignore-not-found "$type" "$name"')}
    else ${kubectl('delete --ignore-not-found -n "$namespace" "$type" "$name"')}; fi
  done
fi
cp ${current} ${applied}`;
}

const json = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;

export function manifestYaml(manifest: Manifest): string {
  return manifest.objects.map((o) => stringify(o)).join("---\n");
}

export function clusterManifests(ctx: PkiContext): Manifest[] {
  const { spec, addresses } = ctx;
  const cni: Manifest[] = spec.network.cni === "flannel" ? [flannelManifest(spec, json)] : spec.network.cni === "calico" ? [calicoInstallation(spec)] : [];
  return [
    rbacManifest(),
    ...cni,
    kubeProxyManifest(spec, endpointUrl(ctx), (o) => stringify(o)),
    corednsManifest(spec, addresses),
    metricsServerManifest(spec),
  ].filter((m): m is Manifest => m !== null);
}

export function upstreamReferences(ctx: PkiContext): UpstreamReference[] {
  return ctx.spec.network.cni === "calico" ? calicoReferences(ctx.spec) : ctx.spec.network.cni === "cilium" ? [ciliumReference(ctx.spec)] : [];
}

export function helmValues(ctx: PkiContext): { name: string; content: string }[] {
  if (ctx.spec.network.cni !== "cilium") return [];
  return [{ name: "cilium-values.yaml", content: stringify(ciliumValues(ctx.spec, ctx.apiEndpointHost, ctx.addresses.apiEndpoint.port)) }];
}

/** The cluster-level files, as the first control-plane host receives them. */
export function clusterFiles(ctx: PkiContext, manifests: readonly Manifest[]): HostFile[] {
  return [
    secretFile(KUBECONFIG_PATHS.superAdmin, clientKubeconfig(ctx, "super-admin", "kubernetes-super-admin", endpointUrl(ctx))),
    ...manifests.map((m) => publicFile(`${MANIFEST_DIR}/${m.name}`, manifestYaml(m), 0o600)),
    ...helmValues(ctx).map((v) => publicFile(`${HELM_DIR}/${v.name}`, v.content, 0o600)),
    publicFile(`${CLUSTER_DIR}/references.json`, json(upstreamReferences(ctx)), 0o644),
    publicFile(OBJECTS_LIST, objectsList(manifests), 0o644),
  ];
}

/** The step that applies the cluster's objects; on an upgrade the workers' drains wait for it. */
export const CLUSTER_MANIFESTS_STEP = "cluster-manifests";

export function clusterSteps(
  ctx: PkiContext,
  manifests: readonly Manifest[],
  first: PlannedHost,
  apiReady: readonly string[],
  kubeletsStarted: readonly string[],
): StepDraft[] {
  const { spec, addresses } = ctx;
  const kubectl = (args: string) => adminKubectl(args, endpointUrl(ctx));
  const references = upstreamReferences(ctx);
  const steps: StepDraft[] = [];
  let applyAfter = [...apiReady];
  if (references.length > 0) {
    // Every file is verified before anything is applied; a mismatch applies nothing.
    const downloads: InstallItem[] = references.map((ref) => ({ artifact: ref, layout: { kind: "file", target: ref.path } }));
    if (references.some((ref) => ref.kind === "helm-chart")) {
      const helm = artifact("helm", artifactVersions(spec).helm, "amd64", spec.artifacts);
      downloads.push({ artifact: helm, layout: { kind: "tarball", members: ["linux-amd64/helm"], stripComponents: 1, targetDir: BIN_DIR } });
    }
    const body = [installScript(downloads)];
    for (const ref of references) {
      if (ref.kind === "manifest") {
        body.push(kubectl(`apply --server-side --force-conflicts -f ${ref.path}`));
        // The cluster's own objects (Calico's Installation) need their CRDs served.
        if (ref.name === "calico-crds") body.push(kubectl(`wait --for=condition=Established --timeout=120s -f ${ref.path}`));
      } else {
        body.push(
          `KUBECONFIG=/etc/kubernetes/admin.conf ${BIN_DIR}/helm upgrade --install ${ref.release} ${ref.path} --namespace kube-system --values ${HELM_DIR}/${ref.valuesFile} --wait --timeout 10m`,
        );
      }
    }
    steps.push({ name: "cni-upstream", description: `apply ${references.map((r) => `${r.name} ${r.version}`).join(", ")}`, dependsOn: apiReady, body: body.join("\n"), check: null, triggers: [`${CLUSTER_DIR}/references.json`, ...helmValues(ctx).map((v) => `${HELM_DIR}/${v.name}`)] });
    applyAfter = [`${first.name}/cni-upstream`];
  }
  steps.push({
    name: CLUSTER_MANIFESTS_STEP,
    description: "apply the cluster's objects (server-side)",
    dependsOn: applyAfter,
    triggers: [...manifests.map((m) => `${MANIFEST_DIR}/${m.name}`), OBJECTS_LIST],
    // The admin kubeconfig's group is bound by 00-rbac.yaml: on a new cluster only system:masters
    // (super-admin) may create that binding. Then server-side apply updates what changed, and
    // objects no longer rendered are removed.
    body: [
      adminKubectl(`apply --server-side --force-conflicts --field-manager=drydock -f ${MANIFEST_DIR}/${rbacManifest().name}`, endpointUrl(ctx), "", KUBECONFIG_PATHS.superAdmin),
      kubectl(`apply --server-side --force-conflicts --field-manager=drydock -f ${MANIFEST_DIR}/`),
      pruneScript(kubectl),
      // A new kube-proxy (an upgrade, a changed config) is on every node before this step ends,
      // and so before an upgrade drains any worker: a node whose kube-proxy is being replaced
      // keeps its old rules until the new one syncs, so pods moving then would leave Services
      // pointing at pods that are gone.
      ...(spec.network.proxyMode === "none" ? [] : [kubectl(`-n kube-system rollout status daemonset/kube-proxy --timeout=300s`)]),
    ].join("\n"),
    check: null,
  });
  const nodes = addresses.hosts.filter((h) => isKubernetesNode(h.roles));
  const controlPlanes = addresses.hosts.filter((h) => h.roles.includes("controlPlane") && !h.roles.includes("worker"));
  steps.push({
    name: "nodes-ready",
    description: "label control-plane nodes, then every node Ready",
    dependsOn: [`${first.name}/${CLUSTER_MANIFESTS_STEP}`, ...kubeletsStarted],
    body: [
      // NodeRestriction keeps kubelets from setting node-role labels themselves.
      ...controlPlanes.map((h) => kubectl(`label node ${h.name} ${CONTROL_PLANE_LABEL}= --overwrite`)),
      // bridge: nodes carry the ranges drydock planned (spec.podCIDR can be set once).
      ...(spec.network.cni === "bridge" ? nodes.map((h) => `${kubectl(`get node ${h.name} -o jsonpath='{.spec.podCIDR}'`)} | grep -q . || ${kubectl(`patch node ${h.name} --type=merge -p '{"spec":{"podCIDR":"${h.podCIDR}","podCIDRs":["${h.podCIDR}"]}}'`)}`) : []),
      kubectl(`wait --for=condition=Ready node --all --timeout=600s`),
    ].join("\n"),
    check: { command: kubectl(`wait --for=condition=Ready node --all --timeout=10s`), timeoutSeconds: 600 },
  });
  return steps;
}
