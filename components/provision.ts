// Carries the rendered plan onto the machines over SSH with @pulumi/command:
// per host one command that writes every file (contents only through stdin),
// then one command per phase of steps, ordered across hosts as the plan says.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { certificateInventory } from "../pki/inventory";
import { shapeMaterial, type PkiMaterial } from "../pki/issue";
import { adminKubectl } from "../hosts/control-plane";
import { fileBundleScript, filesDigest, resetScript } from "../hosts/file-bundle";
import { hostPlans, type HostPlan } from "../hosts/host-plan";
import { planPhases, phaseScript, type Phase } from "../hosts/phases";
import { topologicalOrder } from "../hosts/stages";
import { apiServerUrl } from "../pki/kubeconfig";
import { leaveScript } from "../hosts/etcd-membership";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface ProvisioningArgs {
  readonly spec: ClusterSpec;
  readonly addresses: AddressPlan;
  readonly apiEndpointHost: pulumi.Output<string>;
  readonly material: pulumi.Output<PkiMaterial>;
  /** How to reach each host over SSH (user, key, bastion). */
  readonly connection: (host: PlannedHost) => pulumi.Input<Connection>;
  /** Machines a host's provisioning waits for (aws instances). */
  readonly machines?: Readonly<Record<string, pulumi.Resource>>;
  /** Must succeed before any host is touched (the version guard). */
  readonly guard?: pulumi.Resource;
  /** Reset hosts when their provisioning is destroyed (the hosts backend). */
  readonly resetOnDelete: boolean;
}

/** Runs a script read from stdin as root; nothing but "bash -s" is on the command line. */
const AS_ROOT = "sudo -n bash -s";

const runInline = (script: string) => `echo ${Buffer.from(script).toString("base64")} | base64 -d | sudo -n bash -s`;

export function drainScript(node: string, server: string): string {
  return [
    "set -uo pipefail",
    // A node that never registered has nothing to drain.
    `if ${adminKubectl(`get node ${node}`, server)} >/dev/null 2>&1; then`,
    `  ${adminKubectl(`drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=300s`, server)}`,
    `  ${adminKubectl(`delete node ${node} --wait=true`, server)}`,
    "fi",
  ].join("\n");
}

export class Provisioning extends pulumi.ComponentResource {
  readonly phases: readonly Phase[];
  readonly commands: Readonly<Record<string, command.remote.Command>>;

  constructor(name: string, args: ProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:index:Provisioning", name, {}, opts);
    const { spec, addresses } = args;
    const cluster = spec.name;
    // What exists depends only on the spec: computed from stand-in material.
    const shape = hostPlans({ spec, addresses, material: shapeMaterial(certificateInventory(spec, addresses)), apiEndpointHost: "shape.invalid" });
    // Created after their dependencies, so every dependsOn names a resource that exists.
    this.phases = topologicalOrder(planPhases(shape));
    // What the files hold depends on the real material and endpoint: contents only.
    const plans: pulumi.Output<HostPlan[]> = pulumi
      .all([args.material, args.apiEndpointHost])
      .apply(([material, apiEndpointHost]) => hostPlans({ spec, addresses, material, apiEndpointHost }));

    const commands: Record<string, command.remote.Command> = {};
    const filesByHost: Record<string, command.remote.Command> = {};
    shape.forEach((hostShape, index) => {
      const host = hostShape.host;
      const connection = args.connection(host);
      const machine = args.machines?.[host.name];
      filesByHost[host.name] = new command.remote.Command(
        `${cluster}-${host.name}-files`,
        {
          connection,
          create: AS_ROOT,
          stdin: pulumi.secret(plans.apply((p) => fileBundleScript(p[index]!.files))),
          ...(args.resetOnDelete ? { delete: runInline(resetScript()) } : {}),
          // The bundle prints nothing; never log what a host's files hold.
          logging: "none",
        },
        { parent: this, dependsOn: [...(machine ? [machine] : []), ...(args.guard ? [args.guard] : [])], additionalSecretOutputs: ["stdout", "stderr"] },
      );
    });

    for (const phase of this.phases) {
      const index = shape.findIndex((p) => p.host.name === phase.host);
      const host = shape[index]!.host;
      const triggerPaths = [...new Set(phase.steps.flatMap((s) => [s.script, ...s.triggers]))];
      commands[phase.id] = new command.remote.Command(
        `${cluster}-${phase.id.replace("/", "-")}`,
        {
          connection: args.connection(host),
          create: AS_ROOT,
          stdin: phaseScript(phase),
          // A changed file a step reads re-runs the phase, restarting only that host's services.
          triggers: [pulumi.secret(plans.apply((p) => filesDigest(p[index]!.files, triggerPaths)))],
          logging: "stderr",
        },
        {
          parent: this,
          dependsOn: [
            filesByHost[host.name]!,
            ...phase.dependsOn.map((d) => {
              const dep = commands[d];
              if (!dep) throw new Error(`provisioning: phase ${phase.id} would run before ${d}`);
              return dep;
            }),
          ],
        },
      );
    }

    // Workers: drained and deleted from the API before their machines or provisioning go.
    const first = shape.find((p) => p.host.roles.includes("controlPlane"))!.host;
    const server = apiServerUrl("127.0.0.1", spec.kubernetes.apiServer.port);
    for (const hostShape of shape) {
      const host = hostShape.host;
      if (!host.roles.includes("worker") || host.roles.includes("controlPlane")) continue;
      const last = [...this.phases].reverse().find((p) => p.host === host.name)!;
      new command.remote.Command(
        `${cluster}-${host.name}-leave`,
        { connection: args.connection(first), create: "true", delete: runInline(drainScript(host.name, server)), logging: "stderr" },
        { parent: this, dependsOn: [commands[last.id]!] },
      );
    }
    // etcd members: removed from the cluster (from another member) before their host goes.
    const members = shape.map((p) => p.host).filter((h) => h.roles.includes("etcd"));
    for (const member of members) {
      const other = members.find((m) => m !== member);
      if (!other) continue;
      const last = [...this.phases].reverse().find((p) => p.host === member.name)!;
      new command.remote.Command(
        `${cluster}-${member.name}-etcd-leave`,
        { connection: args.connection(other), create: "true", delete: runInline(leaveScript(member, members.filter((m) => m !== member))), logging: "stderr" },
        { parent: this, dependsOn: [commands[last.id]!] },
      );
    }
    this.commands = commands;
    this.registerOutputs({});
  }
}
