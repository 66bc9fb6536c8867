// The aws backend: a VPC across zones, security groups from the firewall plan,
// instances at the planned addresses, and an NLB for the API.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import { firewallPlan, groupsOf, type GroupName } from "../spec/firewall";
import type { AwsInfrastructure, ClusterSpec } from "../spec/normalize";
import { Machine } from "./lean-resources";

/** Canonical's AWS account: official Ubuntu images. */
export const CANONICAL_OWNER = "099720109477";
export const UBUNTU_2404_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

export interface AwsClusterArgs {
  readonly spec: ClusterSpec;
  readonly infra: AwsInfrastructure;
  readonly addresses: AddressPlan;
}

const tagsFor = (cluster: string, name: string, extra: Record<string, string> = {}) => ({
  Name: `${cluster}-${name}`,
  "drydock:cluster": cluster,
  [`kubernetes.io/cluster/${cluster}`]: "owned",
  ...extra,
});

export class AwsNetwork extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly privateRouteTables: aws.ec2.RouteTable[];

  constructor(name: string, args: AwsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:aws:Network", name, {}, opts);
    const { spec, infra, addresses } = args;
    const cluster = spec.name;
    const child = { parent: this };
    const zoneNames: pulumi.Output<string[]> = infra.zoneNames
      ? pulumi.output([...infra.zoneNames])
      : aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this, provider: opts?.provider }).names;

    this.vpc = new aws.ec2.Vpc(`${cluster}-vpc`, { cidrBlock: infra.vpcCIDR, enableDnsHostnames: true, enableDnsSupport: true, tags: tagsFor(cluster, "vpc") }, child);
    const igw = new aws.ec2.InternetGateway(`${cluster}-igw`, { vpcId: this.vpc.id, tags: tagsFor(cluster, "igw") }, child);
    const zone = (i: number) => zoneNames.apply((names) => {
      if (names.length <= i) throw new Error(`infrastructure.aws.availabilityZones: region ${infra.region} has ${names.length} zones available, the spec asks for ${infra.zoneCount}`);
      return names[i]!;
    });

    this.publicSubnets = addresses.subnets.map((s) =>
      new aws.ec2.Subnet(`${cluster}-public-${s.zone}`, { vpcId: this.vpc.id, cidrBlock: s.publicSubnet, availabilityZone: zone(s.zone), mapPublicIpOnLaunch: false, tags: tagsFor(cluster, `public-${s.zone}`, { "kubernetes.io/role/elb": "1" }) }, child),
    );
    this.privateSubnets = addresses.subnets.map((s) =>
      new aws.ec2.Subnet(`${cluster}-private-${s.zone}`, { vpcId: this.vpc.id, cidrBlock: s.privateSubnet, availabilityZone: zone(s.zone), tags: tagsFor(cluster, `private-${s.zone}`, { "kubernetes.io/role/internal-elb": "1" }) }, child),
    );

    const publicTable = new aws.ec2.RouteTable(`${cluster}-public`, { vpcId: this.vpc.id, tags: tagsFor(cluster, "public") }, child);
    new aws.ec2.Route(`${cluster}-public-default`, { routeTableId: publicTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, child);
    this.publicSubnets.forEach((subnet, i) => new aws.ec2.RouteTableAssociation(`${cluster}-public-${i}`, { subnetId: subnet.id, routeTableId: publicTable.id }, child));

    // NAT: one per zone (a zone failure leaves the others online) or one shared.
    const natCount = infra.natGateways === "perZone" ? infra.zoneCount : 1;
    const nats = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${cluster}-nat-${i}`, { domain: "vpc", tags: tagsFor(cluster, `nat-${i}`) }, child);
      return new aws.ec2.NatGateway(`${cluster}-nat-${i}`, { allocationId: eip.id, subnetId: this.publicSubnets[i]!.id, tags: tagsFor(cluster, `nat-${i}`) }, { parent: this, dependsOn: [igw] });
    });
    this.privateRouteTables = nats.map((nat, i) => {
      const table = new aws.ec2.RouteTable(`${cluster}-private-${i}`, { vpcId: this.vpc.id, tags: tagsFor(cluster, `private-${i}`) }, child);
      new aws.ec2.Route(`${cluster}-private-${i}-default`, { routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id }, child);
      return table;
    });
    this.privateSubnets.forEach((subnet, i) =>
      new aws.ec2.RouteTableAssociation(`${cluster}-private-${i}`, { subnetId: subnet.id, routeTableId: this.privateRouteTables[natCount === 1 ? 0 : i]!.id }, child),
    );
    this.registerOutputs({ vpcId: this.vpc.id });
  }
}

export class AwsSecurityGroups extends pulumi.ComponentResource {
  readonly groups: Partial<Record<GroupName, aws.ec2.SecurityGroup>>;

  constructor(name: string, args: AwsClusterArgs & { vpcId: pulumi.Input<string> }, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:aws:SecurityGroups", name, {}, opts);
    const cluster = args.spec.name;
    const child = { parent: this };
    const groups: Partial<Record<GroupName, aws.ec2.SecurityGroup>> = {};
    for (const g of groupsOf(args.spec)) {
      groups[g] = new aws.ec2.SecurityGroup(`${cluster}-${g}`, { vpcId: args.vpcId, description: `drydock ${cluster} ${g}`, tags: tagsFor(cluster, g) }, child);
      // Outbound open: packages, images and artifacts come through NAT.
      new aws.vpc.SecurityGroupEgressRule(`${cluster}-${g}-egress`, { securityGroupId: groups[g]!.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all outbound" }, child);
    }
    firewallPlan(args.spec).forEach((rule, i) => {
      const source = "group" in rule.from ? { referencedSecurityGroupId: groups[rule.from.group]!.id } : { cidrIpv4: rule.from.cidr };
      new aws.vpc.SecurityGroupIngressRule(
        `${cluster}-${rule.group}-in-${i}`,
        {
          securityGroupId: groups[rule.group]!.id,
          ipProtocol: rule.protocol,
          ...(rule.ports ? { fromPort: rule.ports[0], toPort: rule.ports[1] } : {}),
          description: rule.description,
          ...source,
        },
        child,
      );
    });
    this.groups = groups;
    this.registerOutputs({});
  }
}

export interface MachineGroupArgs extends AwsClusterArgs {
  readonly hosts: readonly PlannedHost[];
  readonly instanceType: (host: PlannedHost) => string;
  readonly rootVolumeGiB: (host: PlannedHost) => number;
  readonly subnets: readonly aws.ec2.Subnet[];
  readonly securityGroups: pulumi.Input<string>[];
  readonly ami: pulumi.Input<string>;
  readonly keyName: pulumi.Input<string>;
  /** bridge CNI: nodes forward pod traffic for their range. */
  readonly routesPods: boolean;
  /** The instance profile a host runs with (etcd members: the snapshot uploader); none by default. */
  readonly instanceProfile?: (host: PlannedHost) => pulumi.Input<string> | undefined;
}

/** One group of machines (etcd, control plane or a worker pool), visible as such in previews. */
export class MachineGroup extends pulumi.ComponentResource {
  readonly instances: Record<string, Machine> = {};

  constructor(name: string, args: MachineGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:aws:MachineGroup", name, {}, opts);
    for (const host of args.hosts) {
      this.instances[host.name] = new Machine(
        `${args.spec.name}-${host.name}`,
        {
          ami: args.ami,
          instanceType: args.instanceType(host),
          subnetId: args.subnets[host.zone!]!.id,
          privateIp: host.address,
          vpcSecurityGroupIds: args.securityGroups,
          keyName: args.keyName,
          associatePublicIpAddress: false,
          sourceDestCheck: !args.routesPods,
          // IMDSv2 only, and a hop limit of 1 keeps pods away from the node's metadata.
          metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
          rootBlockDevice: { volumeType: "gp3", volumeSize: args.rootVolumeGiB(host), encrypted: true, deleteOnTermination: true },
          ...(args.instanceProfile?.(host) ? { iamInstanceProfile: args.instanceProfile(host) } : {}),
          tags: tagsFor(args.spec.name, host.name, { "drydock:roles": host.roles.join(","), ...(host.pool ? { "drydock:pool": host.pool } : {}) }),
        },
        // Its private address is fixed by the plan, and two instances cannot hold it at once:
        // a replacement deletes the old instance first.
        { parent: this, deleteBeforeReplace: true },
      );
    }
    this.registerOutputs({});
  }
}

export class ApiLoadBalancer extends pulumi.ComponentResource {
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly dnsName: pulumi.Output<string>;

  constructor(
    name: string,
    args: AwsClusterArgs & { subnets: aws.ec2.Subnet[]; securityGroup: aws.ec2.SecurityGroup; vpcId: pulumi.Input<string>; targets: Machine[] },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("drydock:aws:ApiLoadBalancer", name, {}, opts);
    const { spec, infra } = args;
    const cluster = spec.name;
    const port = spec.kubernetes.apiServer.port;
    const child = { parent: this };
    this.loadBalancer = new aws.lb.LoadBalancer(
      `${cluster}-api`,
      {
        loadBalancerType: "network",
        internal: !infra.publicApi,
        subnets: args.subnets.map((s) => s.id),
        securityGroups: [args.securityGroup.id],
        enableCrossZoneLoadBalancing: true,
        tags: tagsFor(cluster, "api"),
      },
      child,
    );
    const targetGroup = new aws.lb.TargetGroup(
      `${cluster}-api`,
      {
        port,
        protocol: "TCP",
        targetType: "instance",
        vpcId: args.vpcId,
        // /readyz is one of the paths the API server answers anonymously.
        healthCheck: { protocol: "HTTPS", path: "/readyz", port: String(port), healthyThreshold: 2, unhealthyThreshold: 2, interval: 10 },
        tags: tagsFor(cluster, "api"),
      },
      child,
    );
    args.targets.forEach((instance, i) => new aws.lb.TargetGroupAttachment(`${cluster}-api-${i}`, { targetGroupArn: targetGroup.arn, targetId: instance.id, port }, child));
    new aws.lb.Listener(`${cluster}-api`, { loadBalancerArn: this.loadBalancer.arn, port, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }] }, child);
    this.dnsName = this.loadBalancer.dnsName;
    this.registerOutputs({ dnsName: this.dnsName });
  }
}

/**
 * Off-host copies of the etcd snapshots: a private, versioned bucket encrypted at
 * rest that only the etcd members' role may write to (and only under etcd/).
 */
export class SnapshotBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly instanceProfile: aws.iam.InstanceProfile;

  constructor(name: string, args: { cluster: string }, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:aws:SnapshotBucket", name, {}, opts);
    const { cluster } = args;
    const child = { parent: this };
    // destroy removes the cluster's snapshots with it.
    this.bucket = new aws.s3.Bucket(`${cluster}-etcd-snapshots`, { bucketPrefix: `${cluster}-etcd-snapshots-`, forceDestroy: true, tags: tagsFor(cluster, "etcd-snapshots") }, child);
    const bucket = this.bucket.id;
    new aws.s3.BucketOwnershipControls(`${cluster}-etcd-snapshots`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    new aws.s3.BucketPublicAccessBlock(`${cluster}-etcd-snapshots`, { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, child);
    new aws.s3.BucketVersioning(`${cluster}-etcd-snapshots`, { bucket, versioningConfiguration: { status: "Enabled" } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${cluster}-etcd-snapshots`, { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] }, child);

    const role = new aws.iam.Role(
      `${cluster}-etcd-snapshots`,
      {
        assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
        tags: tagsFor(cluster, "etcd-snapshots"),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${cluster}-etcd-snapshots`,
      { role: role.id, policy: this.bucket.arn.apply((arn) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: `${arn}/etcd/*` }] })) },
      child,
    );
    // No one else writes snapshots, and nothing reaches the bucket without TLS.
    new aws.s3.BucketPolicy(
      `${cluster}-etcd-snapshots`,
      {
        bucket,
        policy: pulumi.all([this.bucket.arn, role.arn]).apply(([arn, roleArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "OnlyEtcdMembersWrite", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: `${arn}/*`, Condition: { ArnNotEquals: { "aws:PrincipalArn": roleArn } } },
              { Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ],
          }),
        ),
      },
      child,
    );
    this.instanceProfile = new aws.iam.InstanceProfile(`${cluster}-etcd-snapshots`, { role: role.name, tags: tagsFor(cluster, "etcd-snapshots") }, child);
    this.registerOutputs({ bucket: this.bucket.id });
  }
}

export interface AwsInfrastructureResult {
  readonly apiEndpointHost: pulumi.Output<string>;
  /** The bucket the etcd members upload snapshots to. */
  readonly snapshotBucket: pulumi.Output<string>;
  readonly bastionAddress: pulumi.Output<string | null>;
  readonly instances: Record<string, Machine>;
}

/** Builds everything aws needs under the given parent; returns what the rest of the cluster uses. */
export function buildAws(parent: pulumi.Resource, args: AwsClusterArgs): AwsInfrastructureResult {
  const { spec, infra, addresses } = args;
  const cluster = spec.name;
  // The spec's region, not whatever aws:region or AWS_REGION the shell has: the machines and
  // the snapshot bucket must land in the same region. Credentials stay the user's usual ones.
  const provider = new aws.Provider(`${cluster}-aws`, { region: infra.region as aws.Region }, { parent });
  // Components pass the provider on to their children; direct resources name it.
  const opts = { parent, provider };
  const network = new AwsNetwork(`${cluster}-network`, args, opts);
  const security = new AwsSecurityGroups(`${cluster}-security`, { ...args, vpcId: network.vpc.id }, opts);
  const sg = (g: GroupName) => security.groups[g]!.id;
  const ami = infra.ami ?? aws.ec2.getAmiOutput({ owners: [CANONICAL_OWNER], mostRecent: true, filters: [{ name: "name", values: [UBUNTU_2404_NAME] }, { name: "virtualization-type", values: ["hvm"] }] }, opts).id;
  const keyPair = new aws.ec2.KeyPair(`${cluster}-ssh`, { publicKey: infra.sshPublicKey, tags: tagsFor(cluster, "ssh") }, opts);
  const snapshots = new SnapshotBucket(`${cluster}-etcd-snapshots`, { cluster }, opts);
  const common = {
    ...args,
    subnets: network.privateSubnets,
    ami,
    keyName: keyPair.keyName,
    routesPods: spec.network.cni === "bridge",
    // Only etcd members get a role: the snapshot uploader's. Other nodes run with none.
    instanceProfile: (host: PlannedHost) => (host.roles.includes("etcd") ? snapshots.instanceProfile.name : undefined),
  };

  const etcdHosts = addresses.hosts.filter((h) => h.roles.includes("etcd") && !h.roles.includes("controlPlane"));
  const cpHosts = addresses.hosts.filter((h) => h.roles.includes("controlPlane"));
  const instances: Record<string, Machine> = {};
  if (etcdHosts.length > 0) {
    const etcd = new MachineGroup(`${cluster}-etcd`, { ...common, hosts: etcdHosts, instanceType: () => infra.instanceTypes.etcd, rootVolumeGiB: () => 50, securityGroups: [sg("etcd")], routesPods: false }, opts);
    Object.assign(instances, etcd.instances);
  }
  const controlPlane = new MachineGroup(`${cluster}-control-plane`, { ...common, hosts: cpHosts, instanceType: () => infra.instanceTypes.controlPlane, rootVolumeGiB: () => 50, securityGroups: [sg("controlPlane")] }, opts);
  Object.assign(instances, controlPlane.instances);
  for (const pool of spec.workers.pools) {
    const hosts = addresses.hosts.filter((h) => h.pool === pool.name);
    if (hosts.length === 0) continue;
    const group = new MachineGroup(`${cluster}-pool-${pool.name}`, { ...common, hosts, instanceType: () => pool.instanceType!, rootVolumeGiB: () => pool.rootVolumeGiB!, securityGroups: [sg("workers")] }, opts);
    Object.assign(instances, group.instances);
  }

  if (spec.network.cni === "bridge") {
    // The VPC carries each node's pod range to that node.
    for (const host of addresses.hosts.filter((h) => h.podCIDR !== null)) {
      network.privateRouteTables.forEach((table, t) =>
        new aws.ec2.Route(`${cluster}-pods-${host.name}-${t}`, { routeTableId: table.id, destinationCidrBlock: host.podCIDR!, networkInterfaceId: instances[host.name]!.primaryNetworkInterfaceId }, { parent: network, provider }),
      );
    }
  }

  const lbSubnets = infra.publicApi ? network.publicSubnets : network.privateSubnets;
  const api = new ApiLoadBalancer(`${cluster}-api`, { ...args, subnets: lbSubnets, securityGroup: security.groups.nlb!, vpcId: network.vpc.id, targets: cpHosts.map((h) => instances[h.name]!) }, opts);

  let bastionAddress: pulumi.Output<string | null> = pulumi.output(null);
  if (infra.bastion) {
    const bastion = new aws.ec2.Instance(
      `${cluster}-bastion`,
      {
        ami,
        instanceType: "t3.micro",
        subnetId: network.publicSubnets[0]!.id,
        associatePublicIpAddress: true,
        vpcSecurityGroupIds: [sg("bastion")],
        keyName: keyPair.keyName,
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: 8, encrypted: true, deleteOnTermination: true },
        tags: tagsFor(cluster, "bastion"),
      },
      opts,
    );
    bastionAddress = bastion.publicIp;
  }
  return { apiEndpointHost: api.dnsName, snapshotBucket: snapshots.bucket.id, bastionAddress, instances };
}
