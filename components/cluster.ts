// The whole cluster as one component: usable from any Pulumi program as
// `new Cluster("prod", { spec })`.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec";
import { planAddresses, type AddressPlan } from "../spec/addresses";
import { renderApiEndpointHost } from "../hosts/render";
import { hostCertificateIds } from "../hosts/pki-files";
import { apiServerUrl, kubeconfig } from "../pki/kubeconfig";
import { Pki } from "./pki";
import { buildAws } from "./aws";
import { buildLocal } from "./local";
import { Provisioning, type Connection } from "./provision";
import { VersionGuard } from "./providers";
import type { PlannedHost } from "../spec/addresses";

export interface ClusterArgs {
  readonly spec: ClusterSpec;
  /**
   * The API endpoint's host when it is only known after creation (an AWS NLB's
   * DNS name). Defaults to the planned endpoint (VIP, address or the only control plane).
   */
  readonly apiEndpointHost?: pulumi.Input<string>;
  /** SSH private key for provisioning (a secret); without it no host is provisioned. */
  readonly sshPrivateKey?: pulumi.Input<string>;
}

/** SSH waits for a booting machine: bounded retries, then pulumi up fails. */
const SSH_DIAL = { dialErrorLimit: 40, perDialTimeout: 15 };

export interface NodeSummary {
  readonly name: string;
  readonly address: string;
  readonly roles: readonly string[];
  readonly podCIDR: string | null;
}

export class Cluster extends pulumi.ComponentResource {
  readonly addresses: AddressPlan;
  readonly nodes: pulumi.Output<NodeSummary[]>;
  readonly apiEndpoint: pulumi.Output<string>;
  readonly pki: Pki;
  /** Secret: embeds the admin client key. */
  readonly adminKubeconfig: pulumi.Output<string>;
  /** The bastion's public address (aws with bastion: true), else null. */
  readonly bastionAddress: pulumi.Output<string | null>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:index:Cluster", name, {}, opts);
    const { spec } = args;
    this.addresses = planAddresses(spec);
    const infra = spec.infrastructure;
    const awsResult = infra.provider === "aws" ? buildAws(this, { spec, infra, addresses: this.addresses }) : null;
    this.bastionAddress = awsResult?.bastionAddress ?? pulumi.output(null);
    const endpointHost = pulumi.output(args.apiEndpointHost ?? awsResult?.apiEndpointHost ?? renderApiEndpointHost(spec, this.addresses));
    this.nodes = pulumi.output(
      this.addresses.hosts.map((h) => ({ name: h.name, address: h.address, roles: [...h.roles], podCIDR: h.podCIDR })),
    );
    this.apiEndpoint = endpointHost.apply((host) => apiServerUrl(host, this.addresses.apiEndpoint.port));
    this.pki = new Pki(`${name}-pki`, { spec, addresses: this.addresses, apiEndpointHost: endpointHost }, { parent: this });
    const admin = this.pki.certificates.admin!;
    this.adminKubeconfig = pulumi.secret(
      pulumi
        .all([this.apiEndpoint, this.pki.cas.ca.certificatePem, admin.certificatePem, admin.privateKeyPem])
        .apply(([server, caCertificatePem, clientCertificatePem, clientKeyPem]) =>
          kubeconfig({ clusterName: spec.name, server, caCertificatePem, userName: "kubernetes-admin", clientCertificatePem, clientKeyPem }),
        ),
    );
    // Refuses a skipped minor or a downgrade at preview, before any host is touched.
    const guard = new VersionGuard(`${name}-versions`, { kubernetes: spec.kubernetes.version, etcd: spec.etcd.version }, { parent: this });
    if (args.sshPrivateKey !== undefined) {
      const privateKey = pulumi.secret(args.sshPrivateKey);
      let connection: (host: PlannedHost) => pulumi.Input<Connection>;
      let machines: Readonly<Record<string, pulumi.CustomResource>> | undefined = awsResult?.instances;
      if (infra.provider === "local") machines = buildLocal(this, spec.name, infra, privateKey);
      if (infra.provider !== "aws") {
        const bastion = infra.ssh.bastion;
        connection = (host) => ({
          host: host.address,
          user: infra.ssh.user,
          port: infra.ssh.port,
          privateKey,
          ...SSH_DIAL,
          ...(bastion ? { proxy: { host: bastion.host, user: bastion.user, port: bastion.port, privateKey, ...SSH_DIAL } } : {}),
        });
      } else {
        const bastionHost = this.bastionAddress.apply((b) => b ?? "");
        connection = (host) => ({
          host: host.address,
          user: "ubuntu",
          privateKey,
          ...SSH_DIAL,
          ...(infra.bastion ? { proxy: { host: bastionHost, user: "ubuntu", privateKey, ...SSH_DIAL } } : {}),
        });
      }
      new Provisioning(
        `${name}-provisioning`,
        {
          spec,
          addresses: this.addresses,
          apiEndpointHost: endpointHost,
          ...(awsResult && infra.provider === "aws" ? { snapshotStore: awsResult.snapshotBucket.apply((bucket) => ({ bucket, region: infra.region })) } : {}),
          materialFor: (host) => this.pki.material(hostCertificateIds(host, Object.keys(this.pki.certificates))),
          connection,
          machines,
          guard,
          resetOnDelete: infra.provider === "hosts",
        },
        { parent: this },
      );
    }
    this.registerOutputs({ nodes: this.nodes, apiEndpoint: this.apiEndpoint, adminKubeconfig: this.adminKubeconfig, bastionAddress: this.bastionAddress });
  }
}
