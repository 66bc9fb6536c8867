// The local backend in Pulumi: the host's bridge and kernel settings as one
// resource, each systemd-nspawn machine as another, so `pulumi up` creates them,
// a pool change adds or removes exactly its machines, and `pulumi destroy`
// leaves the host as it was. Run in the provider host: they use local/ only.
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { parseCidr } from "../spec/ipv4";
import type { LocalInfrastructure } from "../spec/normalize";
import { applySysctls, bridgeName, createNetwork, hostProblems, hostWideSysctls, networkExists, removeNetwork, restoreSysctls, subnetInUse, type LocalNetwork } from "../local/host";
import { destroyMachine, machineNames, machineRunning, removeClusterFolder, startMachine, stopMachine, waitForBoot, type MachineConfig } from "../local/machine";
import { ensureRootfs } from "../local/rootfs";
import { openSshPublicKey } from "../local/ssh-key";

export interface LocalHostInputs extends LocalNetwork {
  readonly debianMirror: string;
}

interface LocalHostState extends LocalHostInputs {
  readonly rootfs: string;
  /** Kernel settings this resource changed, with their values before (put back on delete). */
  readonly previousSysctls: Record<string, string>;
}

const newId = () => randomBytes(8).toString("hex");
const REPLACE_HOST_ON = ["cluster", "bridge", "subnet", "gateway", "prefix", "nat"] as const;

export const localHostProvider: pulumi.dynamic.ResourceProvider = {
  // Runs at preview too: a host that cannot take the machines fails before anything is created.
  async check(olds: Partial<LocalHostInputs>, news: LocalHostInputs) {
    const problems = hostProblems().map((reason) => ({ property: "infrastructure.local", reason: `infrastructure.local: ${reason}` }));
    if (olds.bridge !== news.bridge) {
      const clash = problems.length === 0 ? subnetInUse(news.subnet, news.bridge) : null;
      if (clash) problems.push({ property: "subnet", reason: `infrastructure.local.subnet: ${news.subnet} is already routed on this host (${clash.trim()}); pick a free subnet` });
    }
    return { inputs: news, failures: problems };
  },
  async create(inputs: LocalHostInputs) {
    const rootfs = ensureRootfs(inputs.debianMirror);
    createNetwork(inputs);
    const previousSysctls = applySysctls(hostWideSysctls(inputs.nat));
    return { id: newId(), outs: { ...inputs, rootfs, previousSysctls } satisfies LocalHostState };
  },
  // A bridge that is gone (the host rebooted) is an update: the network and kernel settings come back.
  async diff(_id: string, olds: LocalHostState, news: LocalHostInputs) {
    const replaces = REPLACE_HOST_ON.filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0 || olds.debianMirror !== news.debianMirror || !networkExists(olds), replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, olds: LocalHostState, news: LocalHostInputs) {
    createNetwork(news);
    // Values recorded before the first change stay the ones to restore.
    const previousSysctls = { ...applySysctls(hostWideSysctls(news.nat)), ...olds.previousSysctls };
    return { outs: { ...olds, ...news, rootfs: ensureRootfs(news.debianMirror), previousSysctls } satisfies LocalHostState };
  },
  async delete(_id: string, state: LocalHostState) {
    removeNetwork(state);
    restoreSysctls(state.previousSysctls);
    removeClusterFolder(state.cluster);
  },
};

export interface LocalMachineInputs extends Omit<MachineConfig, "authorizedKey"> {
  /** Secret; root's authorized key is derived from it in-process, the key itself is never written. */
  readonly sshPrivateKey: string;
}

type LocalMachineState = Omit<LocalMachineInputs, "sshPrivateKey"> & { readonly authorizedKey: string; readonly machine: string };

/**
 * Boots the machine. fresh: from nothing (leftovers of an earlier failed attempt go first, and a
 * failure leaves nothing behind); otherwise power-cycled on its own disk, where startMachine
 * writes authorized_keys (a new key) and brings back what a host reboot removed.
 */
async function boot(inputs: LocalMachineInputs, fresh: boolean): Promise<LocalMachineState> {
  const { sshPrivateKey, ...machine } = inputs;
  const authorizedKey = openSshPublicKey(sshPrivateKey);
  await (fresh ? destroyMachine(machine) : stopMachine(machine));
  try {
    startMachine({ ...machine, authorizedKey });
    await waitForBoot(machine);
  } catch (err) {
    if (fresh) await destroyMachine(machine);
    throw err;
  }
  return { ...machine, authorizedKey, machine: machineNames(inputs.cluster, inputs.name).machine };
}

const REPLACE_MACHINE_ON = ["cluster", "name", "address", "prefix", "gateway", "bridge", "rootfs"] as const;

export const localMachineProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LocalMachineInputs) {
    return { id: newId(), outs: await boot(inputs, true) };
  },
  // A machine found powered off (host rebooted, machine shut down) is an update: it boots again from its own disk.
  async diff(_id: string, olds: LocalMachineState, news: LocalMachineInputs) {
    const replaces = REPLACE_MACHINE_ON.filter((k) => olds[k] !== news[k]);
    const keyChanged = olds.authorizedKey !== openSshPublicKey(news.sshPrivateKey);
    return { changes: replaces.length > 0 || keyChanged || !machineRunning(olds), replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, _olds: LocalMachineState, news: LocalMachineInputs) {
    return { outs: await boot(news, false) };
  },
  async delete(_id: string, state: LocalMachineState) {
    await destroyMachine(state);
  },
};

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class LocalHost extends pulumi.dynamic.Resource {
  declare readonly rootfs: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  constructor(name: string, args: Inputs<LocalHostInputs>, opts?: pulumi.CustomResourceOptions) {
    // One bridge per cluster, one machine per name: never two at once, so a replacement deletes first
    // (also on `pulumi up --replace`, which does not ask the provider's diff).
    super(localHostProvider, name, { ...args, rootfs: undefined, previousSysctls: undefined }, { ...opts, deleteBeforeReplace: true }, "drydock", "LocalHost");
  }
}

export class LocalMachine extends pulumi.dynamic.Resource {
  constructor(name: string, args: Inputs<LocalMachineInputs>, opts?: pulumi.CustomResourceOptions) {
    super(localMachineProvider, name, { ...args, sshPrivateKey: pulumi.secret(args.sshPrivateKey), authorizedKey: undefined, machine: undefined }, { ...opts, deleteBeforeReplace: true }, "drydock", "LocalMachine");
  }
}

/** The host's network and one machine per planned host, each waited for until it has booted. */
export function buildLocal(parent: pulumi.Resource, cluster: string, infra: LocalInfrastructure, sshPrivateKey: pulumi.Input<string>): Record<string, LocalMachine> {
  const { prefix } = parseCidr(infra.subnet)!;
  const host = new LocalHost(
    `${cluster}-local-host`,
    { cluster, bridge: bridgeName(cluster), subnet: infra.subnet, gateway: infra.gateway, prefix, nat: infra.nat, debianMirror: infra.debianMirror },
    { parent },
  );
  return Object.fromEntries(
    infra.hosts.map((h) => [
      h.name,
      new LocalMachine(
        `${cluster}-${h.name}`,
        { cluster, name: h.name, address: h.address, prefix, gateway: infra.gateway, bridge: host.bridge, rootfs: host.rootfs, sshPrivateKey },
        { parent, dependsOn: [host] },
      ),
    ]),
  );
}
