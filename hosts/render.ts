// Everything `drydock render` writes, as pure data: relative path -> file.
// The layout is the offline render contract of the design:
//   hosts/<host>/<absolute path on that host>, cluster/..., plan.json
import { planAddresses, type AddressPlan } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { certificateInventory } from "../pki/inventory";
import { issuePki, type PkiMaterial } from "../pki/issue";
import { issuePkiParallel } from "../pki/issue-parallel";
import { hostPlans } from "./host-plan";
import { clusterManifests, helmValues, manifestYaml, upstreamReferences } from "./cluster-manifests";
import { planDocument, type PlanDocument } from "./plan";
import { clientKubeconfig, endpointUrl, type PkiContext } from "./pki-files";
import type { SnapshotStore } from "./etcd-backup";

export interface RenderedFile {
  /** Path relative to the render root. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface RenderedTree {
  readonly plan: PlanDocument;
  readonly files: readonly RenderedFile[];
}

export interface RenderOptions {
  /** Existing PKI material; fresh material is issued when absent. */
  readonly material?: PkiMaterial;
  /** The API endpoint's host when it is only known after creation (an AWS NLB's DNS name). */
  readonly apiEndpointHost?: string;
}

/**
 * The API endpoint host for rendering. An NLB's DNS name exists only after
 * creation, so offline renders of aws specs use a reserved .invalid stand-in.
 */
export function renderApiEndpointHost(spec: ClusterSpec, addresses: AddressPlan, given?: string): string {
  return given ?? addresses.apiEndpoint.host ?? `${spec.name}-api-nlb.invalid`;
}

/** Offline, the aws snapshot bucket's name is not known yet (S3 assigns its suffix). */
export function renderSnapshotStore(spec: ClusterSpec): SnapshotStore | null {
  const infra = spec.infrastructure;
  return infra.provider === "aws" ? { bucket: `${spec.name}-etcd-snapshots-assigned-at-deploy`, region: infra.region } : null;
}

export function renderCluster(spec: ClusterSpec, options: RenderOptions = {}): RenderedTree {
  const addresses = planAddresses(spec);
  const apiEndpointHost = renderApiEndpointHost(spec, addresses, options.apiEndpointHost);
  const material = options.material ?? issuePki(certificateInventory(spec, addresses), apiEndpointHost);
  const ctx: PkiContext = { spec, addresses, material, apiEndpointHost, snapshotStore: renderSnapshotStore(spec) };

  const plans = hostPlans(ctx);
  const plan = planDocument(spec, addresses, plans);
  const files: RenderedFile[] = [];
  for (const { host, files: hostFileList } of plans) {
    for (const f of hostFileList) files.push({ path: `hosts/${host.name}${f.path}`, content: f.content, mode: f.mode });
  }
  const server = endpointUrl(ctx);
  files.push({ path: "cluster/admin.kubeconfig", content: clientKubeconfig(ctx, "admin", "kubernetes-admin", server), mode: 0o600 });
  files.push({ path: "cluster/super-admin.kubeconfig", content: clientKubeconfig(ctx, "super-admin", "kubernetes-super-admin", server), mode: 0o600 });
  for (const m of clusterManifests(ctx)) files.push({ path: `cluster/manifests/${m.name}`, content: manifestYaml(m), mode: 0o644 });
  for (const v of helmValues(ctx)) files.push({ path: `cluster/helm/${v.name}`, content: v.content, mode: 0o644 });
  files.push({ path: "cluster/references.json", content: `${JSON.stringify(upstreamReferences(ctx), null, 2)}\n`, mode: 0o644 });
  files.push({ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n`, mode: 0o644 });
  return { plan, files };
}

/** Renders with freshly issued PKI, using every core for large clusters. */
export async function renderWithFreshPki(spec: ClusterSpec, options: Omit<RenderOptions, "material"> = {}): Promise<RenderedTree> {
  const addresses = planAddresses(spec);
  const apiEndpointHost = renderApiEndpointHost(spec, addresses, options.apiEndpointHost);
  const material = await issuePkiParallel(certificateInventory(spec, addresses), apiEndpointHost);
  return renderCluster(spec, { ...options, material });
}
