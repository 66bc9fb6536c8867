// Pulumi entry point: the spec from stack config, handed to one Cluster component.
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { requireSpecFromConfig } from "./components/stack-config";

const config = new pulumi.Config("drydock");
const spec = requireSpecFromConfig(config);
const sshPrivateKey = config.getSecret("sshPrivateKey");
if (sshPrivateKey === undefined) {
  throw new pulumi.RunError("drydock:sshPrivateKey: not set; provisioning needs the SSH private key: pulumi config set --secret drydock:sshPrivateKey < ~/.ssh/id_ed25519");
}
const cluster = new Cluster(spec.name, { spec, sshPrivateKey });

export const nodes = cluster.nodes;
export const apiEndpoint = cluster.apiEndpoint;
export const adminKubeconfig = cluster.adminKubeconfig;
export const bastionAddress = cluster.bastionAddress;
