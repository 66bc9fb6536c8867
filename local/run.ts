// Running host programs for the local backend: bounded, with stderr in the error.
import { spawnSync } from "node:child_process";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.error ? `${r.stderr ?? ""}${r.error.message}` : (r.stderr ?? "") };
}

export function runOk(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
  return r.stdout;
}

export function hasProgram(name: string): boolean {
  return run("sh", ["-c", `command -v ${name}`]).code === 0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
