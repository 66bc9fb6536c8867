// The whole cluster as one component: usable from any Pulumi program as
// `new Cluster("prod", { spec })`.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec";
import { planAddresses, type AddressPlan } from "../spec/addresses";
import { renderApiEndpointHost } from "../hosts/render";
import { apiServerUrl, kubeconfig } from "../pki/kubeconfig";
import { Pki } from "./pki";
import { buildAws } from "./aws";

export interface ClusterArgs {
  readonly spec: ClusterSpec;
  /**
   * The API endpoint's host when it is only known after creation (an AWS NLB's
   * DNS name). Defaults to the planned endpoint (VIP, address or the only control plane).
   */
  readonly apiEndpointHost?: pulumi.Input<string>;
}

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
    this.registerOutputs({ nodes: this.nodes, apiEndpoint: this.apiEndpoint, adminKubeconfig: this.adminKubeconfig, bastionAddress: this.bastionAddress });
  }
}
