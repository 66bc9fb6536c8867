// Carries the rendered plan onto the machines over SSH with @pulumi/command: one
// command per phase of steps, ordered across hosts as the plan says; a host's
// first phase also writes every file the host receives (contents only through stdin).
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { certificateInventory } from "../pki/inventory";
import { shapeMaterial, type PkiMaterial } from "../pki/issue";
import { fileBundleScript, filesDigest, resetScript } from "../hosts/file-bundle";
import { hostPlan, hostPlans, type HostPlan } from "../hosts/host-plan";
import { planPhases, phaseScript, withStepsOf, type Phase } from "../hosts/phases";
import { topologicalOrder } from "../hosts/stages";
import { apiServerUrl } from "../pki/kubeconfig";
import { leaveScript } from "../hosts/etcd-membership";
import { CLUSTER_MANIFESTS_STEP } from "../hosts/cluster-manifests";
import { APISERVER_READY_STEP } from "../hosts/control-plane";
import type { SnapshotStore } from "../hosts/etcd-backup";
import { cordonDrainScript, removeNodeScript, uncordonScript } from "../hosts/worker-upgrade";
import type { VersionGuard } from "./providers";
import { RemoteCommand, sshConnection, type SshConnection } from "./lean-resources";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface ProvisioningArgs {
  readonly spec: ClusterSpec;
  readonly addresses: AddressPlan;
  readonly apiEndpointHost: pulumi.Output<string>;
  /** Where etcd members upload snapshots (aws), if anywhere. */
  readonly snapshotStore?: pulumi.Output<SnapshotStore | null>;
  /** The PKI material a host's files are made from: that host's certificates only. */
  readonly materialFor: (host: PlannedHost) => pulumi.Output<PkiMaterial>;
  /** How to reach each host over SSH (user, key, bastion). */
  readonly connection: (host: PlannedHost) => pulumi.Input<Connection>;
  /** Machines a host's provisioning waits for (aws instances). */
  readonly machines?: Readonly<Record<string, pulumi.CustomResource>>;
  /** Must succeed before any host is touched; says whether this run upgrades Kubernetes. */
  readonly guard?: VersionGuard;
  /** Reset hosts when their provisioning is destroyed (the hosts backend). */
  readonly resetOnDelete: boolean;
}

/** Runs a script read from stdin as root; nothing but "bash -s" is on the command line. */
const AS_ROOT = "sudo -n bash -s";

/** The files whose change re-runs a phase: its steps' scripts and what they read. */
const phaseTriggers = (phase: Phase) => [...new Set(phase.steps.flatMap((s) => [s.script, ...s.triggers]))];

const runInline = (script: string) => `echo ${Buffer.from(script).toString("base64")} | base64 -d | sudo -n bash -s`;

export class Provisioning extends pulumi.ComponentResource {
  readonly phases: readonly Phase[];
  readonly commands: Readonly<Record<string, RemoteCommand>>;

  constructor(name: string, args: ProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:index:Provisioning", name, {}, opts);
    const { spec, addresses } = args;
    const cluster = spec.name;
    // What exists depends only on the spec: computed from stand-in material.
    const shape = hostPlans({ spec, addresses, material: shapeMaterial(certificateInventory(spec, addresses)), apiEndpointHost: "shape.invalid" });
    // Created after their dependencies, so every dependsOn names a resource that exists.
    this.phases = topologicalOrder(planPhases(shape));
    // What the files hold depends on the real material and endpoint: contents only.
    // Each host's plan reads only its own certificates, so its commands depend on a
    // handful of PKI resources rather than all of them (linear, not quadratic, in hosts).
    const plans = new Map<string, pulumi.Output<HostPlan>>();
    const noStore = pulumi.output(null);
    for (const { host } of shape) {
      const store = host.roles.includes("etcd") && args.snapshotStore ? args.snapshotStore : noStore;
      plans.set(
        host.name,
        pulumi.all([args.materialFor(host), args.apiEndpointHost, store]).apply(([material, apiEndpointHost, snapshotStore]) => hostPlan({ spec, addresses, material, apiEndpointHost, snapshotStore }, host)),
      );
    }

    // One prepared connection per host, shared by all its commands.
    const connections = new Map<string, SshConnection>();
    const connectionTo = (host: PlannedHost): SshConnection => {
      let connection = connections.get(host.name);
      if (!connection) connections.set(host.name, (connection = sshConnection(args.connection(host))));
      return connection;
    };
    const commands: Record<string, RemoteCommand> = {};
    const hostByName = new Map(shape.map((p) => [p.host.name, p.host]));
    const firstControlPlane = shape.find((p) => p.host.roles.includes("controlPlane"))!.host;
    const server = apiServerUrl("127.0.0.1", spec.kubernetes.apiServer.port);
    const isWorker = (h: PlannedHost) => h.roles.includes("worker") && !h.roles.includes("controlPlane");
    // A command that runs on another host (a drain on the first control plane) waits for that machine to exist.
    const machineOf = (h: PlannedHost): pulumi.Resource[] => (args.machines?.[h.name] ? [args.machines[h.name]!] : []);

    // Workers upgrade in batches of their pool's maxUnavailable: before a worker's new
    // binaries go in, it is cordoned and drained (from the first control plane); after
    // it is back, uncordoned (its leave command's update). On a run that changes
    // kubernetes.version, a batch's drains wait for the previous batch to be uncordoned
    // (the first batch for every control plane and for the new kube-proxy on every node,
    // as kubeadm upgrades it with the control plane); on any other run nothing waits, so a
    // pool's first bring-up and scaling stay parallel.
    const leaves = new Map<string, RemoteCommand>();
    const drains = new Map<string, RemoteCommand>();
    const upgradingFrom = args.guard ? args.guard.upgradingFrom : pulumi.output(null);
    // What an upgrade's first batch waits for: the phases in which each control plane's API
    // server is ready again, and the one that applies the cluster's objects (the new kube-proxy
    // rolled out to every node). Filled with the phases below.
    const firstBatchWaitsFor: RemoteCommand[] = [];
    for (const pool of spec.workers.pools) {
      const workers = shape.map((p) => p.host).filter((h) => isWorker(h) && h.pool === pool.name);
      workers.forEach((host, i) => {
        const batch = Math.floor(i / pool.maxUnavailable);
        const previous = batch === 0 ? [] : workers.slice((batch - 1) * pool.maxUnavailable, batch * pool.maxUnavailable).map((h) => h.name);
        const waitsFor = upgradingFrom.apply((from) =>
          from ? (batch === 0 ? firstBatchWaitsFor : previous.map((n) => leaves.get(n)!)) : [],
        );
        drains.set(
          host.name,
          new RemoteCommand(
            `${cluster}-${host.name}-drain`,
            {
              connection: connectionTo(firstControlPlane),
              // The version in the script: a new version re-runs it (an update).
              create: runInline(`# kubernetes ${spec.kubernetes.version}\n${cordonDrainScript(host.name, server)}`),
              logging: "stderr",
            },
            { parent: this, dependsOn: pulumi.output(waitsFor).apply((w) => [...machineOf(firstControlPlane), ...w]) },
          ),
        );
      });
    }
    // A new machine (a replaced instance, a reinstalled host) gets all its phases again: the
    // command line names the machine, so a change is an update of each phase, which runs it.
    // (Only inputs make Pulumi run a command again; a replaced dependency does not.)
    const reprovision = new Map(spec.infrastructure.provider === "hosts" ? spec.infrastructure.hosts.map((h) => [h.name, h.reprovision]) : []);
    const phaseCommands = new Map<string, pulumi.Input<string>>();
    const phaseCommand = (host: PlannedHost): pulumi.Input<string> => {
      if (!phaseCommands.has(host.name)) {
        const machine = args.machines?.[host.name];
        const count = reprovision.get(host.name) ?? 0;
        phaseCommands.set(host.name, machine ? pulumi.interpolate`${AS_ROOT} # machine ${machine.id}` : count > 0 ? `${AS_ROOT} # reprovision ${count}` : AS_ROOT);
      }
      return phaseCommands.get(host.name)!;
    };
    // The phases come in dependency order: the last one seen for a host is its final phase.
    const lastPhase = new Map<string, RemoteCommand>();
    for (const phase of this.phases) {
      const host = hostByName.get(phase.host)!;
      const plan = plans.get(host.name)!;
      // A host's first phase also writes every file the host receives (contents only
      // through stdin, a secret): any changed file re-runs it, and its steps skip what
      // is unchanged and healthy. Later phases re-run when the files they read change.
      const first = !lastPhase.has(host.name);
      const machine = args.machines?.[host.name];
      commands[phase.id] = new RemoteCommand(
        `${cluster}-${phase.id.replace("/", "-")}`,
        {
          connection: connectionTo(host),
          create: phaseCommand(host),
          // The steps as the real plan has them (the shape's stand-in endpoint must never run).
          // A later phase's script holds no file contents: not secret.
          stdin: first
            ? pulumi.secret(plan.apply((p) => `set -euo pipefail\n# The files, in a subshell: its umask stays there.\n(\n${fileBundleScript(p.files)})\n${phaseScript(withStepsOf(phase, p))}`))
            : pulumi.unsecret(plan.apply((p) => phaseScript(withStepsOf(phase, p)))),
          // A change to the bundle changes stdin: an update, which runs create again. Triggers
          // would replace the command instead, and a replacement runs the old one's delete:
          // on hosts, the reset. So only later phases (which have no delete) use them.
          // The digest is not secret (SHA-256 over whole files, keys among them); a secret trigger
          // that is still unknown makes the command provider fail `pulumi preview`.
          ...(first ? {} : { triggers: [pulumi.unsecret(plan.apply((p) => filesDigest(p.files, phaseTriggers(phase))))] }),
          ...(first && args.resetOnDelete ? { delete: runInline(resetScript()) } : {}),
          // The file bundle prints nothing; steps report progress on stderr.
          logging: "stderr",
        },
        {
          parent: this,
          dependsOn: [
            ...(first && machine ? [machine] : []),
            ...(first && args.guard ? [args.guard] : []),
            ...(first && drains.has(host.name) ? [drains.get(host.name)!] : []),
            ...phase.dependsOn.map((d) => {
              const dep = commands[d];
              if (!dep) throw new Error(`provisioning: phase ${phase.id} would run before ${d}`);
              return dep;
            }),
          ],
          ...(first ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
        },
      );
      lastPhase.set(host.name, commands[phase.id]!);
      if (phase.steps.some((st) => st.name === APISERVER_READY_STEP || st.name === CLUSTER_MANIFESTS_STEP)) firstBatchWaitsFor.push(commands[phase.id]!);
    }

    // Workers: uncordoned once back after an upgrade (the update a new version makes);
    // drained and deleted from the API before their machines or provisioning go.
    for (const { host } of shape) {
      if (!isWorker(host)) continue;
      leaves.set(
        host.name,
        new RemoteCommand(
          `${cluster}-${host.name}-leave`,
          {
            connection: connectionTo(firstControlPlane),
            create: `true # kubernetes ${spec.kubernetes.version}`,
            update: runInline(uncordonScript(host.name, server)),
            delete: runInline(removeNodeScript(host.name, server)),
            logging: "stderr",
          },
          { parent: this, dependsOn: [lastPhase.get(host.name)!, ...machineOf(firstControlPlane)] },
        ),
      );
    }
    // etcd members: removed from the cluster (from another member) before their host goes.
    // Chained in member order, so the engine deletes them one at a time, last member first
    // (it deletes dependents first); in parallel, members leaving together could each pick a
    // member that is itself leaving. Found by `pulumi destroy` on the real engine.
    const members = shape.map((p) => p.host).filter((h) => h.roles.includes("etcd"));
    let previousLeave: RemoteCommand | undefined;
    for (const member of members) {
      const other = members.find((m) => m !== member);
      if (!other) continue;
      previousLeave = new RemoteCommand(
        `${cluster}-${member.name}-etcd-leave`,
        { connection: connectionTo(other), create: "true", delete: runInline(leaveScript(member, members.filter((m) => m !== member))), logging: "stderr" },
        { parent: this, dependsOn: [lastPhase.get(member.name)!, ...machineOf(other), ...(previousLeave ? [previousLeave] : [])] },
      );
    }
    this.commands = commands;
    this.registerOutputs({});
  }
}
