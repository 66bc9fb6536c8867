// The whole cluster as one component: usable from any Pulumi program as
// `new Cluster("prod", { spec })`.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec";
import { planAddresses, type AddressPlan } from "../spec/addresses";

export interface ClusterArgs {
  readonly spec: ClusterSpec;
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
  readonly apiEndpointPort: pulumi.Output<number>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:index:Cluster", name, {}, opts);
    this.addresses = planAddresses(args.spec);
    this.nodes = pulumi.output(
      this.addresses.hosts.map((h) => ({ name: h.name, address: h.address, roles: [...h.roles], podCIDR: h.podCIDR })),
    );
    this.apiEndpointPort = pulumi.output(this.addresses.apiEndpoint.port);
    this.registerOutputs({ nodes: this.nodes, apiEndpointPort: this.apiEndpointPort });
  }
}
