// The lean resource classes register exactly what the generated classes they stand
// in for would: type, inputs (secrets included), provider version, secret outputs
// and replace rules, as the engine receives them (the mock monitor's requests).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Machine, RemoteCommand, sshConnection } from "../../components/lean-resources";

const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor: () => any; waitForRPCs: () => Promise<void> };

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: unknown;
  readonly version: string;
  readonly additionalSecretOutputs: string[];
  readonly replaceOnChanges: string[];
}

/** Runs a program under mocks and returns what each custom resource registration asked the engine for. */
async function registrations(program: () => void): Promise<Registration[]> {
  pulumi.runtime.setMocks({ newResource: async (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: async () => ({}) }, "lean", "test", false);
  const monitor = settings.getMonitor();
  const seen: Registration[] = [];
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    if (req.getCustom()) {
      seen.push({
        type: req.getType(),
        name: req.getName(),
        inputs: req.getObject().toJavaScript(),
        version: req.getVersion(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        replaceOnChanges: req.getReplaceonchangesList(),
      });
    }
    return register(req, callback);
  };
  await pulumi.runtime.runInPulumiStack(async () => {
    program();
    return {};
  });
  await settings.waitForRPCs();
  return seen;
}

const withoutName = ({ name: _name, ...rest }: Registration) => rest;

test("Machine registers what aws.ec2.Instance registers, and exposes the outputs drydock reads", async () => {
  const args: aws.ec2.InstanceArgs = {
    ami: "ami-1",
    instanceType: "t3.medium",
    subnetId: "subnet-1",
    privateIp: "10.0.0.10",
    vpcSecurityGroupIds: ["sg-1"],
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    rootBlockDevice: { volumeType: "gp3", volumeSize: 40, encrypted: true, deleteOnTermination: true },
    iamInstanceProfile: pulumi.output("profile"),
    tags: { Name: "x" },
  };
  let machine: Machine | undefined;
  const [generated, lean] = await registrations(() => {
    new aws.ec2.Instance("generated", args);
    machine = new Machine("lean", args);
  }).then((r) => [r.find((x) => x.name === "generated")!, r.find((x) => x.name === "lean")!]);
  assert.deepEqual(withoutName(lean), withoutName(generated));
  assert.equal(lean.type, "aws:ec2/instance:Instance");
  assert.ok(lean.version.length > 0, "pins the provider plugin version");
  assert.equal(await new Promise((resolve) => machine!.privateIp.apply(resolve)), "10.0.0.10");
});

test("RemoteCommand registers what command.remote.Command registers: defaults applied, connection secret, triggers replace", async () => {
  const connection = { host: "10.0.0.10", privateKey: pulumi.secret("KEY"), dialErrorLimit: 40, proxy: { host: pulumi.output("203.0.113.10"), privateKey: pulumi.secret("KEY") } };
  const args = { create: "bash -s", stdin: pulumi.secret("files"), triggers: [pulumi.secret("digest")], delete: "reset", logging: "stderr" as const };
  const regs = await registrations(() => {
    new command.remote.Command("generated", { ...args, connection });
    new RemoteCommand("lean", { ...args, connection: sshConnection(connection) });
  });
  const [generated, lean] = [regs.find((x) => x.name === "generated")!, regs.find((x) => x.name === "lean")!];
  assert.deepEqual(withoutName(lean), withoutName(generated));
  assert.deepEqual(lean.additionalSecretOutputs, ["connection"]);
  assert.deepEqual(lean.replaceOnChanges, ["triggers[*]"]);
  const conn = (lean.inputs as any).connection;
  assert.ok(JSON.stringify(conn).includes("4dabf18193072939515e22adb298388d"), "the connection travels as a secret");
});
