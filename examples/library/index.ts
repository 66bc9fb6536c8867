// Your own Pulumi program with drydock's Cluster component in it: the spec from a file named
// in stack config, the SSH key as a secret, and whatever else your program builds beside it.
import * as pulumi from "@pulumi/pulumi";
import { Cluster, loadSpecFile, requireSpec } from "drydock";

const config = new pulumi.Config();
const spec = requireSpec(loadSpecFile(config.require("specFile")));
const cluster = new Cluster(spec.name, { spec, sshPrivateKey: config.requireSecret("sshPrivateKey") });

export const apiEndpoint = cluster.apiEndpoint;
export const nodes = cluster.nodes;
export const adminKubeconfig = cluster.adminKubeconfig;
