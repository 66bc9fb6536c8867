// Pulumi entry point: the spec from stack config, handed to one Cluster component.
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { requireSpecFromConfig } from "./components/stack-config";

const spec = requireSpecFromConfig(new pulumi.Config("drydock"));
const cluster = new Cluster(spec.name, { spec });

export const nodes = cluster.nodes;
export const apiEndpoint = cluster.apiEndpoint;
export const adminKubeconfig = cluster.adminKubeconfig;
export const bastionAddress = cluster.bastionAddress;
