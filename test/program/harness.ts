// Runs the real Pulumi program (index.ts) under pulumi.runtime.setMocks and
// records every registered resource, components included. Dynamic resources are
// created for real: the serialized provider is loaded the way Pulumi's provider
// host loads it and its create() runs, so outputs are real certificates.
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { ROOT } from "../helpers";
import { REMOTE_COMMAND_TYPE } from "../../components/lean-resources";

const requireFromString = require("require-from-string") as (code: string) => { handler: () => pulumi.dynamic.ResourceProvider };
// Present in the runtime's JavaScript but not in its typings: waits for every
// outstanding resource registration.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string };

export type Operation = "create" | "same" | "update" | "replace";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** What the engine would do for a dynamic resource, given the prior state. */
  readonly operation: Operation;
  /** As the engine got them: secret values are still wrapped (see isSecretValue). */
  readonly inputs: Record<string, any>;
  readonly state: Record<string, any>;
  readonly id: string;
  /** The provider reference ("<urn>::<id>") the resource was registered with, if any. */
  readonly provider: string | undefined;
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  readonly exports: Record<string, unknown>;
  /** "<type>::<name>" -> names of the resources it explicitly depends on. */
  readonly dependsOn: ReadonlyMap<string, string[]>;
  /** "<type>::<name>" of resources registered with deleteBeforeReplace. */
  readonly deleteBeforeReplace: ReadonlySet<string>;
  /** Every function the program invoked, with the provider reference it named. */
  readonly invokes: { token: string; provider: string | undefined }[];
}

export const REMOTE_COMMAND = REMOTE_COMMAND_TYPE;

export function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as any)[specialSigKey] === specialSecretSig;
}

export function unwrapSecrets(value: any): any {
  if (isSecretValue(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  return value;
}

const wrapSecret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });


/** Output names the engine would make secret (the resources' additionalSecretOutputs). */
const SECRET_OUTPUTS = ["privateKeyPem", "caPrivateKeyPem", "keyBase64"];

/** Dynamic resources with effects on the host running them (local backend): stand-in outputs instead. */
export const LOCAL_MACHINE_TYPES = /^pulumi-nodejs:dynamic\/drydock:Local(Host|Machine)$/;

function localStandIn(type: string, inputs: Record<string, any>): Record<string, unknown> {
  return type.endsWith(":LocalHost")
    ? { rootfs: "/var/cache/drydock/local/stand-in", previousSysctls: {} }
    : { authorizedKey: "ssh-ed25519 stand-in", machine: `${inputs.cluster}-${inputs.name}`, sshPrivateKey: undefined };
}

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();
function providerFor(serialized: string): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(serialized);
  if (!provider) {
    provider = requireFromString(serialized).handler();
    providers.set(serialized, provider);
  }
  return provider;
}

// The register request carries every dependency the engine orders by (explicit
// dependsOn and those implied by inputs); the mock API does not pass it on, so
// the monitor's method is wrapped once to record it.
let currentDependencies: Map<string, string[]> | null = null;
let currentDeleteBeforeReplace: Set<string> | null = null;
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: any } };
const originalRegister = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req: any, callback: unknown) {
  const urns: string[] = req.getDependenciesList();
  currentDependencies?.set(`${req.getType()}::${req.getName()}`, urns.map((u) => u.split("::").pop()!));
  if (req.getDeletebeforereplace()) currentDeleteBeforeReplace?.add(`${req.getType()}::${req.getName()}`);
  return originalRegister.call(this, req, callback);
};

/** Outputs AWS computes that the program reads. */
function awsComputed(type: string, name: string): Record<string, unknown> {
  const base = { arn: `arn:aws:mock:::${name}` };
  switch (type) {
    case "aws:lb/loadBalancer:LoadBalancer":
      return { ...base, dnsName: `${name}-0123456789.elb.mock.amazonaws.com` };
    case "aws:ec2/instance:Instance":
      return { ...base, primaryNetworkInterfaceId: `eni-${name}`, publicIp: "203.0.113.10" };
    case "aws:ec2/keyPair:KeyPair":
      return { ...base, keyName: name };
    case "aws:iam/instanceProfile:InstanceProfile":
    case "aws:iam/role:Role":
      return { ...base, name };
    default:
      return base;
  }
}

/** Resolves a Pulumi output to its value (and whether it is secret). */
export async function resolveOutput<T>(output: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  const secret = await (output as any).isSecret;
  const value = await new Promise<T>((resolve) => output.apply((v) => { resolve(v); return v; }));
  return { value, secret };
}

export interface RunOptions {
  /** Run dynamic providers for real (default true). */
  readonly runProviders?: boolean;
  /** Keep every resource's inputs and state (default true); the benchmark only counts. */
  readonly keepInputs?: boolean;
  /** State of a previous run, by resource name: diff/update run against it as the engine would. */
  readonly priorState?: ReadonlyMap<string, { id: string; state: Record<string, any> }>;
}

/** The inputs a remote Command's provider diffs. */
const COMMAND_INPUTS = ["connection", "create", "update", "delete", "stdin", "triggers", "environment", "logging", "addPreviousOutputInEnv"];
const commandInputs = (props: Record<string, any>) => Object.fromEntries(COMMAND_INPUTS.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));

/** What the engine does with a remote Command given its prior state: triggers are replace-on-change. */
export function commandOperation(prior: Record<string, any> | undefined, news: Record<string, any>): Operation {
  if (!prior) return "create";
  const [olds, now] = [commandInputs(prior), commandInputs(news)];
  if (JSON.stringify(olds) === JSON.stringify(now)) return "same";
  return JSON.stringify(olds.triggers) !== JSON.stringify(now.triggers) ? "replace" : "update";
}

/** Plain (unwrapped) state of every resource of a run, to feed the next run. */
export function stateOf(run: ProgramRun): Map<string, { id: string; state: Record<string, any> }> {
  return new Map(run.resources.map((r) => [r.name, { id: r.id, state: unwrapSecrets(r.state) }]));
}

const secretOutputs = (outs: Record<string, any>) =>
  Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, SECRET_OUTPUTS.includes(k) ? wrapSecret(v) : v]));

/** A stand-in SSH key for the stack config (mocks never connect). */
export const TEST_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-only-not-a-key\n-----END OPENSSH PRIVATE KEY-----\n";

export async function runIndex(config: Record<string, string>, options: RunOptions = {}): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  const invokes: { token: string; provider: string | undefined }[] = [];
  const runProviders = options.runProviders ?? true;
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        let state: Record<string, any> = args.inputs;
        let id = args.custom ? `${args.name}-id` : "";
        let operation: Operation = "create";
        if (LOCAL_MACHINE_TYPES.test(args.type)) {
          // The local backend's providers create bridges and machines on this host: never under mocks.
          state = { ...args.inputs, ...localStandIn(args.type, unwrapSecrets(args.inputs)) };
        } else if (runProviders && args.type.startsWith("pulumi-nodejs:dynamic") && typeof args.inputs.__provider === "string") {
          const news = unwrapSecrets(args.inputs);
          const provider = providerFor(news.__provider);
          const prior = options.priorState?.get(args.name);
          let outs: Record<string, any>;
          if (!prior) {
            const created = await provider.create!(news);
            [id, outs] = [created.id, created.outs];
          } else {
            const diff = await provider.diff!(prior.id, prior.state, news);
            if (!diff.changes) {
              [id, outs, operation] = [prior.id, prior.state, "same"];
            } else if ((diff.replaces ?? []).length > 0 || !provider.update) {
              const created = await provider.create!(news);
              [id, outs, operation] = [created.id, created.outs, "replace"];
            } else {
              const updated = await provider.update(prior.id, prior.state, news);
              [id, outs, operation] = [prior.id, updated.outs ?? {}, "update"];
            }
          }
          state = secretOutputs({ ...outs, __provider: news.__provider });
        }
        if (args.type.startsWith("aws:")) state = { ...awsComputed(args.type, args.name), ...args.inputs };
        const keep = options.keepInputs ?? true;
        resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, operation, inputs: keep ? args.inputs : {}, state: keep ? state : {}, id, provider: args.provider });
        return { id, state };
      },
      call: (args) => {
        invokes.push({ token: args.token, provider: args.provider });
        switch (args.token) {
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["mock-1a", "mock-1b", "mock-1c", "mock-1d"], zoneIds: ["z1", "z2", "z3", "z4"], id: "mock" };
          case "aws:ec2/getAmi:getAmi":
            return { id: "ami-0123456789abcdef0", name: "ubuntu-noble-24.04" };
          default:
            return args.inputs;
        }
      },
    },
    "drydock",
    "test",
    false,
  );
  const withKey = Object.keys(config).length > 0 && !("drydock:sshPrivateKey" in config) ? { ...config, "drydock:sshPrivateKey": TEST_SSH_KEY } : config;
  pulumi.runtime.setAllConfig(withKey, Object.keys(withKey).includes("drydock:sshPrivateKey") ? ["drydock:sshPrivateKey"] : []);
  const dependsOn = new Map<string, string[]>();
  currentDependencies = dependsOn;
  const deleteBeforeReplace = new Set<string>();
  currentDeleteBeforeReplace = deleteBeforeReplace;
  const entry = require.resolve(join(ROOT, "index.ts"));
  delete require.cache[entry];
  const exports = require(entry) as Record<string, unknown>;
  await waitForRPCs();
  return { resources, exports, dependsOn, deleteBeforeReplace, invokes };
}
