// Provider resources that materialize only the outputs drydock reads. The
// generated classes (aws.ec2.Instance, command.remote.Command) turn every one of
// their properties into an Output with its own promises and closures, whether set
// or not: ~460 KB per EC2 instance and ~125 KB per remote command before they are
// registered, which is most of the program's memory at a thousand workers. These
// register the same resource type, with the same inputs, provider version, secret
// outputs and replace rules, so the engine and the provider see what the generated
// classes would send; outputs drydock does not read stay in the state, unread.
import type * as aws from "@pulumi/aws";
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { getVersion as awsVersion } from "@pulumi/aws/utilities";
import { getVersion as commandVersion } from "@pulumi/command/utilities";
import { remote as connectionDefaults } from "@pulumi/command/types/input";

/** Only the keys that are set: each key of a resource's properties becomes an Output. */
function setOnly<T extends object>(props: T): Partial<T> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const INSTANCE_TYPE = "aws:ec2/instance:Instance";
export const REMOTE_COMMAND_TYPE = "command:remote:Command";

/** An EC2 instance (aws:ec2/instance:Instance) exposing its id, private address and primary network interface. */
export class Machine extends pulumi.CustomResource {
  declare readonly privateIp: pulumi.Output<string>;
  declare readonly primaryNetworkInterfaceId: pulumi.Output<string>;

  constructor(name: string, args: aws.ec2.InstanceArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(INSTANCE_TYPE, name, { ...setOnly(args), privateIp: args.privateIp, primaryNetworkInterfaceId: undefined }, pulumi.mergeOptions({ version: awsVersion() }, opts));
  }
}

declare const prepared: unique symbol;
/** An SSH connection with the provider's defaults applied, as a secret: made once per host, shared by its commands. */
export type SshConnection = pulumi.Output<command.types.input.remote.ConnectionArgs> & { readonly [prepared]: true };

export function sshConnection(connection: pulumi.Input<command.types.input.remote.ConnectionArgs>): SshConnection {
  // What command.remote.Command does to its connection: defaults (port 22, user root, dial limits), then secret.
  return pulumi.secret(pulumi.output(connection).apply(connectionDefaults.connectionArgsProvideDefaults)) as SshConnection;
}

export type RemoteCommandArgs = Pick<command.remote.CommandArgs, "update" | "delete" | "stdin" | "triggers" | "logging"> & {
  readonly connection: SshConnection;
  readonly create: pulumi.Input<string>;
};

/** A command run over SSH (command:remote:Command); no outputs are read. */
export class RemoteCommand extends pulumi.CustomResource {
  constructor(name: string, args: RemoteCommandArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(REMOTE_COMMAND_TYPE, name, setOnly(args), pulumi.mergeOptions({ version: commandVersion(), additionalSecretOutputs: ["connection"], replaceOnChanges: ["triggers[*]"] }, opts));
  }
}
