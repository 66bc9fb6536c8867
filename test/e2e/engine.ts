// The real Pulumi engine for tests: the Pulumi CLI built by the toolchain, driven through
// @pulumi/pulumi's Automation API with the program inline (this process serves it to the
// engine, so the Node.js language host, which the module proxy does not serve, is not needed).
// Offline: a local file backend, a passphrase for secrets, no plugin downloads; the plugins are
// the toolchain's (the dynamic-provider launcher and the command provider stand-in).
import * as auto from "@pulumi/pulumi/automation";
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_DIR, CACHE_DIR } from "../toolchain/build";
import { ROOT } from "../helpers";

export const PASSPHRASE = "drydock-tests-only";

export interface EngineOptions {
  /** Holds the backend, PULUMI_HOME and the stack's settings. */
  readonly workDir: string;
  readonly stackName: string;
  readonly projectName?: string;
  readonly program: auto.PulumiFn;
  /** Written to a log file per operation; the engine's own summary is in it. */
  readonly log?: (line: string) => void;
  /** A folder whose bin/pulumi runs instead of the toolchain's (the benchmark wraps it to measure it). */
  readonly cliRoot?: string;
  /** More environment for the CLI (PULUMI_SKIP_CHECKPOINTS for large stacks on a file backend). */
  readonly env?: Record<string, string>;
}

/** What an operation leaves alone: `pulumi --exclude`, `--exclude-dependents`. */
export interface Scope {
  readonly exclude?: string[];
  readonly excludeDependents?: boolean;
  /** `pulumi up --replace`: URNs to replace although their inputs did not change. */
  readonly replace?: string[];
}

export interface PlannedStep {
  readonly op: string;
  readonly name: string;
  readonly oldDelete: boolean;
}

export class EngineStack {
  private constructor(
    readonly stack: auto.Stack,
    private readonly log: (text: string) => void,
    private readonly env: Record<string, string>,
    private readonly projectDir: string,
  ) {}

  static async create(options: EngineOptions): Promise<EngineStack> {
    const backend = join(options.workDir, "backend");
    const home = join(options.workDir, "pulumi-home");
    const project = join(options.workDir, "project");
    for (const dir of [backend, home, project]) mkdirSync(dir, { recursive: true });
    const pulumiCommand = await auto.PulumiCommand.get({ root: options.cliRoot ?? CACHE_DIR, skipVersionCheck: options.cliRoot !== undefined });
    const env = {
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_HOME: home,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
      // Plugins come from PATH: the toolchain's, found before anything else.
      PATH: `${BIN_DIR}:${process.env.PATH ?? ""}`,
      // The dynamic-provider launcher resolves @pulumi/pulumi (and drydock's dependencies) from here.
      NODE_PATH: join(ROOT, "node_modules"),
      ...options.env,
    };
    const stack = await auto.LocalWorkspace.createOrSelectStack(
      { stackName: options.stackName, projectName: options.projectName ?? "drydock", program: options.program },
      {
        workDir: project,
        pulumiCommand,
        projectSettings: { name: options.projectName ?? "drydock", runtime: "nodejs", backend: { url: `file://${backend}` } },
        secretsProvider: "passphrase",
        envVars: env,
      },
    );
    return new EngineStack(stack, options.log ?? (() => undefined), env, project);
  }

  async setConfig(values: Record<string, { value: string; secret?: boolean }>): Promise<void> {
    await this.stack.setAllConfig(values);
  }

  /** The engine's output goes to the log as it comes, under one header per operation. */
  private output(op: string): (text: string) => void {
    this.log(`== pulumi ${op}`);
    return this.log;
  }

  up(scope: Scope = {}): Promise<auto.UpResult> {
    return this.stack.up({ ...scope, onOutput: this.output("up"), color: "never", suppressProgress: true });
  }

  preview(opts: Scope & { diff?: boolean; expectNoChanges?: boolean } = {}): Promise<auto.PreviewResult> {
    return this.stack.preview({ onOutput: this.output("preview"), color: "never", ...opts });
  }

  /** A preview's plan, step by step: operation, resource name, and whether the old resource has a delete command. */
  async plannedSteps(scope: Scope = {}): Promise<{ summary: Record<string, number>; steps: PlannedStep[] }> {
    const steps: PlannedStep[] = [];
    const preview = await this.stack.preview({
      ...scope,
      diff: true,
      color: "never",
      onOutput: this.output("preview"),
      onEvent: (event) => {
        const m = event.resourcePreEvent?.metadata;
        if (m && m.op !== "same" && m.type !== "pulumi:pulumi:Stack") steps.push({ op: m.op, name: m.urn.split("::").pop()!, oldDelete: m.old?.inputs?.delete !== undefined });
      },
    });
    return { summary: preview.changeSummary as Record<string, number>, steps };
  }

  /** The URN of the one resource of that name in the stack's state. */
  async urnOf(name: string): Promise<string> {
    const resources = ((await this.stack.exportStack()).deployment?.resources ?? []) as { urn: string }[];
    const found = resources.filter((r) => r.urn.endsWith(`::${name}`));
    if (found.length !== 1) throw new Error(`${found.length} resources named ${name} in the state`);
    return found[0]!.urn;
  }

  destroy(): Promise<auto.DestroyResult> {
    return this.stack.destroy({ onOutput: this.output("destroy"), color: "never", suppressProgress: true });
  }

  /**
   * The stack's state exactly as `pulumi stack export` writes it: secrets stay encrypted.
   * (The Automation API's exportStack adds --show-secrets, so the CLI is run directly.)
   */
  exportState(): { text: string; resources: { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] } {
    const result = spawnSync(join(BIN_DIR, "pulumi"), ["stack", "export", "--stack", this.stack.name, "--non-interactive"], {
      cwd: this.projectDir,
      env: { ...process.env, ...this.env },
      encoding: "utf8",
      timeout: 120_000,
      maxBuffer: 1024 * 1024 * 1024,
    });
    if (result.status !== 0) throw new Error(`pulumi stack export: exit ${result.status} ${result.error ?? ""} ${result.stderr}${result.stdout.slice(0, 500)}`);
    const deployment = JSON.parse(result.stdout);
    return { text: result.stdout, resources: deployment.deployment?.resources ?? [] };
  }
}

/** A file the engine's output goes to, one operation after another. */
export function logTo(path: string): (text: string) => void {
  return (text) => {
    appendFileSync(path, text.endsWith("\n") ? text : `${text}\n`);
  };
}

export function readLog(path: string): string {
  return readFileSync(path, "utf8");
}
