// Executes the program's @pulumi/command remote commands for real, over SSH from
// the test lan, as the provider would: the command line as given, stdin as
// given, with the connection's own user, port and private key. Steps these
// hosts cannot run are cut out of phase scripts by name, each with its reason.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runAsync } from "../integration/helpers";
import { inNetns, sshOptions } from "./machines";

/** Steps that need what containers on a shared kernel without the Kubernetes server binaries cannot give. */
export const UNRUNNABLE_STEPS: Readonly<Record<string, string>> = {
  "os-prep": "loads kernel modules and sets kernel sysctls; containers share the build machine's kernel",
  "install-node": "downloads kubelet and the other Kubernetes node binaries, which cannot be had here",
  "containerd-start": "starts containerd, installed by install-node",
  "kubelet-start": "starts the kubelet, installed by install-node",
  "control-plane-pods": "installs static pods and waits for the kubelet to run them",
  "apiserver-ready": "waits for kube-apiserver, a static pod the kubelet starts",
  "cluster-manifests": "applies manifests with kubectl through a running API server",
  "nodes-ready": "waits for kubelets to register with a running API server",
};

export interface ExecutedCommand {
  readonly name: string;
  readonly host: string;
  /** The command line run: the resource's create, or on an update its update. */
  readonly command: string;
  readonly ran: readonly string[];
  readonly skipped: readonly string[];
  readonly delete: string | undefined;
  readonly connection: Connection;
}

interface Connection {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly privateKey?: string;
}

/** Replaces each unrunnable step's block in a phase script with a line saying it was skipped and why. */
export function cutUnrunnable(script: string): { script: string; ran: string[]; skipped: string[] } {
  const ran: string[] = [];
  const skipped: string[] = [];
  const out = script.replace(/^# step (\S+)\n[\s\S]*?^# end \1$/gm, (block, id: string) => {
    const name = id.split("/").pop()!;
    const reason = UNRUNNABLE_STEPS[name];
    if (!reason) {
      ran.push(id);
      return block;
    }
    skipped.push(id);
    return `echo ${JSON.stringify(`e2e: skipped ${id}: ${reason}`)} >&2`;
  });
  return { script: out, ran, skipped };
}

export class RemoteExecutor {
  /** In the order they finished: reversed, a valid order to destroy in. */
  readonly executed: ExecutedCommand[] = [];
  readonly failures: string[] = [];

  constructor(
    private readonly lanNetns: string,
    private readonly workDir: string,
  ) {}

  private keyFile(privateKey: string): string {
    const path = join(this.workDir, `key-${createHash("sha256").update(privateKey).digest("hex").slice(0, 12)}`);
    writeFileSync(path, privateKey, { mode: 0o600 });
    return path;
  }

  /** One command line over SSH with stdin, bounded in time. */
  async exec(connection: Connection, command: string, stdin: string, timeoutMs = 15 * 60_000) {
    if (!connection.privateKey) throw new Error(`no private key in the connection to ${connection.host}`);
    const args = [...sshOptions(this.keyFile(connection.privateKey)), "-p", String(connection.port ?? 22), `${connection.user ?? "root"}@${connection.host}`, command];
    return runAsync(...inNetns(this.lanNetns, "ssh", args), { input: stdin, timeoutMs });
  }

  /** The harness's remoteCommand hook: runs a resource's create, or on an update its update (else its create). */
  readonly run = async (name: string, inputs: Record<string, any>, operation: "create" | "update"): Promise<{ stdout: string; stderr: string }> => {
    if (inputs.environment && Object.keys(inputs.environment).length > 0) throw new Error(`${name}: remote environment variables are not supported here`);
    const connection = inputs.connection as Connection;
    const { script, ran, skipped } = cutUnrunnable(String(inputs.stdin ?? ""));
    const command = String(operation === "update" && inputs.update !== undefined ? inputs.update : inputs.create);
    const r = await this.exec(connection, command, script);
    if (r.code !== 0) {
      const failure = `${name} on ${connection.host} failed (${r.code}):\n${r.stderr.trim().slice(-4000)}`;
      this.failures.push(failure);
      throw new Error(failure);
    }
    this.executed.push({ name, host: connection.host, command, ran, skipped, delete: inputs.delete, connection });
    return { stdout: r.stdout, stderr: r.stderr };
  };

  /** Deletes of replaced commands that ran (the harness's remoteDelete hook). */
  readonly replacedDeletes: string[] = [];

  /** The harness's remoteDelete hook: a replaced command's delete, run as the engine would once the run is done. */
  readonly deleteReplaced = async (name: string, inputs: Record<string, any>): Promise<void> => {
    if (inputs.delete === undefined) return;
    this.replacedDeletes.push(name);
    const r = await this.exec(inputs.connection as Connection, String(inputs.delete), "");
    if (r.code !== 0) this.failures.push(`${name}: the replaced command's delete failed (${r.code}):\n${r.stderr.trim().slice(-4000)}`);
  };

  /** Runs every delete in reverse order of creation, as `pulumi destroy` would; returns what each printed. */
  async destroy(): Promise<{ name: string; code: number | null; stdout: string; stderr: string }[]> {
    const results: { name: string; code: number | null; stdout: string; stderr: string }[] = [];
    for (const command of [...this.executed].reverse()) {
      if (!command.delete) continue;
      const r = await this.exec(command.connection, command.delete, "");
      results.push({ name: command.name, code: r.code, stdout: r.stdout, stderr: r.stderr });
    }
    return results;
  }
}
