// The aws backend under Pulumi mocks, through the real index.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { loadSpecFile, requireSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { EXAMPLES_DIR, awsBase } from "../helpers";
import { resolveOutput, runIndex, type ProgramRun, type RecordedResource } from "./harness";

const NLB_DNS = "prod-api-0123456789.elb.mock.amazonaws.com";
const runExample = (name: string) => runIndex({ "drydock:specFile": join(EXAMPLES_DIR, name) }, { runProviders: true });
const runInline = (spec: Record<string, any>) => runIndex({ "drydock:cluster": JSON.stringify(spec) });

const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const countByType = (run: ProgramRun) => {
  const counts: Record<string, number> = {};
  for (const r of run.resources.filter((r) => r.type.startsWith("aws:"))) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
};
const INSTANCE = "aws:ec2/instance:Instance";
const LB = "aws:lb/loadBalancer:LoadBalancer";
/** Names repeat across types (an instance and its security group): look up by both. */
const byName = (run: ProgramRun, name: string, type = INSTANCE) => {
  const found = run.resources.find((r) => r.name === name && r.type === type);
  assert.ok(found, `${type} ${name}`);
  return found!;
};
/** Mock ids are "<resource name>-id": map an id input back to its resource. */
const target = (run: ProgramRun, id: string) => run.resources.find((r) => `${r.name}-id` === id)!;

interface RuleView { group: string; protocol: string; ports: string; from: string }
function ingress(run: ProgramRun): RuleView[] {
  return ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => ({
    group: target(run, r.inputs.securityGroupId).name,
    protocol: r.inputs.ipProtocol,
    ports: r.inputs.fromPort === undefined ? "all" : `${r.inputs.fromPort}-${r.inputs.toPort}`,
    from: r.inputs.cidrIpv4 ?? target(run, r.inputs.referencedSecurityGroupId).name,
  }));
}
const key = (r: RuleView) => `${r.group} ${r.protocol}/${r.ports} from ${r.from}`;

test("aws-ha: exact resource counts by type", async () => {
  const run = await runExample("aws-ha.yaml");
  assert.deepEqual(countByType(run), {
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/subnet:Subnet": 6,
    "aws:ec2/routeTable:RouteTable": 4,
    "aws:ec2/route:Route": 4,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 6,
    "aws:ec2/eip:Eip": 3,
    "aws:ec2/natGateway:NatGateway": 3,
    "aws:ec2/securityGroup:SecurityGroup": 5,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 5,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 32,
    "aws:ec2/keyPair:KeyPair": 1,
    "aws:ec2/instance:Instance": 10,
    "aws:lb/loadBalancer:LoadBalancer": 1,
    "aws:lb/targetGroup:TargetGroup": 1,
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": 3,
    "aws:lb/listener:Listener": 1,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:iam/role:Role": 1,
    "aws:iam/rolePolicy:RolePolicy": 1,
    "aws:iam/instanceProfile:InstanceProfile": 1,
  });
  const components = run.resources.filter((r) => !r.custom).map((r) => `${r.type} ${r.name}`).sort();
  for (const c of ["drydock:aws:Network prod-network", "drydock:aws:SecurityGroups prod-security", "drydock:aws:MachineGroup prod-etcd", "drydock:aws:MachineGroup prod-control-plane", "drydock:aws:MachineGroup prod-pool-general", "drydock:aws:ApiLoadBalancer prod-api", "drydock:index:Pki prod-pki", "drydock:index:Cluster prod"]) {
    assert.ok(components.includes(c), `component ${c}`);
  }
});

test("aws-ha: etcd snapshots go to a private, versioned, encrypted bucket only the etcd members' role can write", async () => {
  const run = await runExample("aws-ha.yaml");
  const one = (type: string) => {
    const found = ofType(run, type);
    assert.equal(found.length, 1, type);
    return found[0]!;
  };
  const bucket = one("aws:s3/bucket:Bucket");
  assert.equal(bucket.inputs.bucketPrefix, "prod-etcd-snapshots-");
  const bucketId = bucket.id;
  assert.deepEqual(one("aws:s3/bucketVersioning:BucketVersioning").inputs, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } });
  assert.equal(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
  const block = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
  assert.deepEqual([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets], [true, true, true, true]);
  assert.equal(one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule.objectOwnership, "BucketOwnerEnforced");
  const role = one("aws:iam/role:Role");
  assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal, { Service: "ec2.amazonaws.com" });
  const rolePolicy = JSON.parse(one("aws:iam/rolePolicy:RolePolicy").inputs.policy);
  assert.deepEqual(rolePolicy.Statement, [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: `${bucket.state.arn}/etcd/*` }], "write-only, under etcd/");
  const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
  const onlyEtcd = policy.Statement.find((s: any) => s.Sid === "OnlyEtcdMembersWrite");
  assert.deepEqual([onlyEtcd.Effect, onlyEtcd.Action, onlyEtcd.Condition.ArnNotEquals["aws:PrincipalArn"]], ["Deny", "s3:PutObject", role.state.arn]);
  assert.ok(policy.Statement.some((s: any) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"), "TLS only");
  // The members' snapshot script uploads there; nodes without etcd have no upload.
  const first = (host: string) => run.resources.find((r) => r.type === "command:remote:Command" && r.name.startsWith(`prod-${host}-0-`))!;
  const bundle = (host: string) => {
    const stdin = first(host).inputs.stdin;
    return String(typeof stdin === "string" ? stdin : stdin.value);
  };
  const script = (host: string) => {
    const match = /put '\/usr\/local\/lib\/drydock\/etcd-snapshot\.sh' \d+ '[^']+' <<'DRYDOCK_EOF'\n([\s\S]*?)\nDRYDOCK_EOF/.exec(bundle(host));
    return match ? Buffer.from(match[1]!.replace(/\n/g, ""), "base64").toString() : null;
  };
  assert.match(script("etcd-1")!, new RegExp(`https://${bucketId}\\.s3\\.eu-west-1\\.amazonaws\\.com`));
  assert.match(script("etcd-1")!, /^upload "\$file"$/m);
  assert.equal(script("cp-1"), null, "control planes of an external etcd take no snapshots");
});

test("aws-ha: machines at planned private addresses, etcd and control plane one per zone, IMDSv2, encrypted gp3, no user data", async () => {
  const run = await runExample("aws-ha.yaml");
  const spec = requireSpec(loadSpecFile(join(EXAMPLES_DIR, "aws-ha.yaml")));
  const planned = planAddresses(spec).hosts;
  const zoneOf = (r: RecordedResource) => target(run, r.inputs.subnetId).name;
  for (const host of planned) {
    const instance = byName(run, `prod-${host.name}`);
    assert.equal(instance.inputs.privateIp, host.address);
    assert.equal(zoneOf(instance), `prod-private-${host.zone}`, `${host.name} in its zone's private subnet`);
    assert.equal(instance.inputs.associatePublicIpAddress, false);
    assert.deepEqual(instance.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    assert.equal(instance.inputs.rootBlockDevice.encrypted, true);
    assert.equal(instance.inputs.rootBlockDevice.volumeType, "gp3");
    assert.equal(instance.inputs.userData, undefined);
    assert.equal(instance.inputs.iamInstanceProfile, host.roles.includes("etcd") ? "prod-etcd-snapshots" : undefined, "only etcd members get a role: the snapshot uploader's");
    assert.equal(instance.inputs.ami, "ami-0123456789abcdef0", "latest Ubuntu 24.04 from the AMI lookup");
    assert.equal(instance.inputs.tags["drydock:cluster"], "prod");
  }
  const zones = (prefix: string) => new Set(planned.filter((h) => h.name.startsWith(prefix)).map((h) => zoneOf(byName(run, `prod-${h.name}`))));
  assert.equal(zones("etcd-").size, 3);
  assert.equal(zones("cp-").size, 3);
  const bastion = byName(run, "prod-bastion");
  assert.equal(target(run, bastion.inputs.subnetId).name, "prod-public-0");
  assert.equal(bastion.inputs.metadataOptions.httpTokens, "required");
  const subnets = ofType(run, "aws:ec2/subnet:Subnet").map((s) => [s.name, s.inputs.availabilityZone]);
  assert.deepEqual(subnets.filter(([n]) => n.startsWith("prod-private")).map(([, z]) => z), ["mock-1a", "mock-1b", "mock-1c"]);
});

test("aws-ha: the NLB is internet-facing in public subnets, targets exactly the control-plane instances, and names every certificate and kubeconfig", async () => {
  const run = await runExample("aws-ha.yaml");
  const nlb = byName(run, "prod-api", LB);
  assert.equal(nlb.inputs.loadBalancerType, "network");
  assert.equal(nlb.inputs.internal, false);
  assert.equal(nlb.inputs.enableCrossZoneLoadBalancing, true);
  assert.deepEqual(nlb.inputs.subnets.map((id: string) => target(run, id).name), ["prod-public-0", "prod-public-1", "prod-public-2"]);
  const attached = ofType(run, "aws:lb/targetGroupAttachment:TargetGroupAttachment").map((a) => target(run, a.inputs.targetId).name).sort();
  assert.deepEqual(attached, ["prod-cp-1", "prod-cp-2", "prod-cp-3"]);
  const tg = ofType(run, "aws:lb/targetGroup:TargetGroup")[0]!;
  assert.deepEqual([tg.inputs.port, tg.inputs.protocol, tg.inputs.healthCheck.path, tg.inputs.healthCheck.protocol], [6443, "TCP", "/readyz", "HTTPS"]);
  const listener = ofType(run, "aws:lb/listener:Listener")[0]!;
  assert.deepEqual([listener.inputs.port, listener.inputs.protocol], [6443, "TCP"]);

  const apiserver = byName(run, "prod-apiserver-cp-1", "pulumi-nodejs:dynamic/drydock:Certificate");
  assert.ok(apiserver.inputs.request.dnsNames.includes(NLB_DNS), "NLB DNS name in the apiserver SANs");
  assert.ok(new X509Certificate(apiserver.state.certificatePem).subjectAltName!.includes(`DNS:${NLB_DNS}`));
  const { value, secret } = await resolveOutput(run.exports.adminKubeconfig as pulumi.Output<string>);
  assert.equal(secret, true, "the kubeconfig output is a secret");
  assert.equal(parse(value).clusters[0].cluster.server, `https://${NLB_DNS}:6443`);
  assert.equal((await resolveOutput(run.exports.bastionAddress as pulumi.Output<string>)).value, "203.0.113.10");
});

test("aws-ha: every security-group rule, and nothing else", async () => {
  const run = await runExample("aws-ha.yaml");
  const rules = ingress(run).map(key).sort();
  const nodes = ["prod-controlPlane", "prod-workers"];
  const expected = [
    "prod-nlb tcp/6443-6443 from 203.0.113.0/24",
    ...nodes.map((n) => `prod-nlb tcp/6443-6443 from ${n}`),
    "prod-controlPlane tcp/6443-6443 from prod-nlb",
    ...nodes.map((n) => `prod-controlPlane tcp/6443-6443 from ${n}`),
    // metrics-server runs on any node and scrapes every kubelet.
    ...nodes.flatMap((t) => nodes.map((s) => `${t} tcp/10250-10250 from ${s}`)),
    "prod-etcd tcp/2379-2379 from prod-controlPlane",
    "prod-etcd tcp/2379-2380 from prod-etcd",
    ...nodes.flatMap((t) => nodes.flatMap((s) => [`${t} udp/8472-8472 from ${s}`, `${t} tcp/4240-4240 from ${s}`, `${t} icmp/8-0 from ${s}`, `${t} tcp/4244-4244 from ${s}`])),
    "prod-bastion tcp/22-22 from 203.0.113.0/24",
    ...["prod-etcd", ...nodes].map((g) => `${g} tcp/22-22 from prod-bastion`),
  ].sort();
  assert.deepEqual(rules, expected);
  // Egress is open (packages and images through NAT); ingress never from the whole internet here.
  assert.ok(!ingress(run).some((r) => r.from === "0.0.0.0/0"));
});

test("default allowedCIDRs: only the API listener is open to 0.0.0.0/0", async () => {
  const run = await runInline(awsBase());
  const open = ingress(run).filter((r) => r.from === "0.0.0.0/0").map(key);
  assert.deepEqual(open, ["test-nlb tcp/6443-6443 from 0.0.0.0/0"]);
  // Without a bastion and without sshAllowedCIDRs, nothing accepts SSH.
  assert.ok(!ingress(run).some((r) => r.ports === "22-22"));
});

test("stacked etcd: no etcd machines or group; control planes talk etcd among themselves; private API", async () => {
  const run = await runExample("aws-stacked-calico-ipvs.yaml");
  assert.equal(ofType(run, "aws:ec2/instance:Instance").length, 3 + 4 + 2);
  assert.ok(!run.resources.some((r) => r.name === "stacked-etcd"));
  const rules = ingress(run).map(key);
  assert.ok(rules.includes("stacked-controlPlane tcp/2379-2380 from stacked-controlPlane"));
  assert.ok(rules.includes("stacked-workers udp/4789-4789 from stacked-controlPlane"), "Calico VXLAN");
  assert.ok(rules.includes("stacked-workers tcp/5473-5473 from stacked-workers"), "Calico Typha");
  assert.ok(!rules.some((r) => r.includes("8472")), "no flannel/cilium port with calico");
  const nlb = byName(run, "stacked-api", LB);
  assert.equal(nlb.inputs.internal, true);
  assert.deepEqual(nlb.inputs.subnets.map((id: string) => target(run, id).name), ["stacked-private-0", "stacked-private-1", "stacked-private-2"]);
  const gpu = byName(run, "stacked-gpu-1");
  assert.equal(gpu.inputs.instanceType, "g6.xlarge");
  assert.deepEqual(ofType(run, "aws:ec2/subnet:Subnet").filter((s) => s.name.startsWith("stacked-private")).map((s) => s.inputs.availabilityZone), ["us-east-2a", "us-east-2b", "us-east-2c"]);
});

test("bridge CNI: source/destination check off on Kubernetes nodes and one VPC route per node's pod range", async () => {
  const spec = awsBase();
  spec.network = { cni: "bridge" };
  spec.infrastructure.aws.natGateways = "single";
  const run = await runInline(spec);
  const routes = ofType(run, "aws:ec2/route:Route").filter((r) => r.name.startsWith("test-pods-"));
  const planned = planAddresses(requireSpec(require("../../spec").validateSpec(spec))).hosts.filter((h) => h.podCIDR);
  assert.equal(routes.length, planned.length, "one route per node with a single private route table");
  for (const host of planned) {
    const route = routes.find((r) => r.inputs.destinationCidrBlock === host.podCIDR)!;
    assert.equal(route.inputs.networkInterfaceId, `eni-test-${host.name}`);
    assert.equal(byName(run, `test-${host.name}`).inputs.sourceDestCheck, false);
  }
  assert.equal(byName(run, "test-etcd-1").inputs.sourceDestCheck, true, "etcd hosts forward nothing");
  assert.ok(ingress(run).map(key).includes("test-workers -1/all from test-controlPlane"), "routed pod traffic between nodes");
  // Per-zone NAT: the routes go into every private route table.
  spec.infrastructure.aws.natGateways = "perZone";
  const perZone = await runInline(spec);
  assert.equal(ofType(perZone, "aws:ec2/route:Route").filter((r) => r.name.startsWith("test-pods-")).length, planned.length * 3);
});

test("each CNI opens exactly its own ports between nodes", async () => {
  const ports = async (cni: string) => {
    const spec = awsBase();
    spec.network = { cni, ...(cni === "cilium" ? {} : { proxyMode: "iptables" }) };
    const run = await runInline(spec);
    // The kubelet API (10250) is open between all nodes whatever the CNI; the rest is the CNI's.
    const between = ingress(run).filter((r) => r.group === "test-workers" && r.from === "test-workers").map((r) => `${r.protocol}/${r.ports}`);
    assert.ok(between.includes("tcp/10250-10250"), `${cni}: metrics-server reaches every kubelet`);
    return [...new Set(between.filter((p) => p !== "tcp/10250-10250"))].sort();
  };
  assert.deepEqual(await ports("flannel"), ["udp/8472-8472"]);
  assert.deepEqual(await ports("calico"), ["tcp/5473-5473", "udp/4789-4789"]);
  assert.deepEqual(await ports("cilium"), ["icmp/8-0", "tcp/4240-4240", "tcp/4244-4244", "udp/8472-8472"]);
  assert.deepEqual(await ports("bridge"), ["-1/all"]);
});

test("an explicit AMI skips the lookup; SSH without bastion comes from sshAllowedCIDRs", async () => {
  const spec = awsBase();
  spec.infrastructure.aws.ami = "ami-00000000000000001";
  spec.infrastructure.aws.sshAllowedCIDRs = ["198.51.100.0/24"];
  const run = await runInline(spec);
  assert.ok(ofType(run, "aws:ec2/instance:Instance").every((i) => i.inputs.ami === "ami-00000000000000001"));
  const ssh = ingress(run).filter((r) => r.ports === "22-22").map(key).sort();
  assert.deepEqual(ssh, ["test-controlPlane tcp/22-22 from 198.51.100.0/24", "test-etcd tcp/22-22 from 198.51.100.0/24", "test-workers tcp/22-22 from 198.51.100.0/24"]);
});

test("every AWS resource and lookup uses the provider built from the spec's region, not the shell's", async () => {
  const previous = process.env.AWS_REGION;
  process.env.AWS_REGION = "us-east-1";
  try {
    const run = await runInline({ ...awsBase(), infrastructure: { ...awsBase().infrastructure, aws: { ...awsBase().infrastructure.aws, region: "eu-west-1" } } });
    const providers = run.resources.filter((r) => r.type === "pulumi:providers:aws");
    assert.equal(providers.length, 1, "one aws provider");
    assert.equal(providers[0]!.inputs.region, "eu-west-1");
    const reference = `${providers[0]!.name}-id`;
    const awsResources = run.resources.filter((r) => r.type.startsWith("aws:"));
    assert.ok(awsResources.length > 40, `aws resources checked: ${awsResources.length}`);
    const strays = awsResources.filter((r) => !r.provider?.endsWith(`::${reference}`)).map((r) => `${r.type} ${r.name} (${r.provider})`);
    assert.deepEqual(strays, [], "resources on another provider");
    const awsInvokes = run.invokes.filter((i) => i.token.startsWith("aws:"));
    assert.ok(awsInvokes.length >= 2, `aws lookups checked: ${awsInvokes.length}`);
    assert.deepEqual(awsInvokes.filter((i) => !i.provider?.endsWith(`::${reference}`)), [], "lookups on another provider");
  } finally {
    if (previous === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = previous;
  }
});
