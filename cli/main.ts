// drydock command line: validate and render specs offline.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadSpecFile, problemLines } from "../spec";
import { specToInput } from "../spec/normalize";
import { renderWithFreshPki } from "../hosts/render";
import { OutputPathError, writeRenderedTree } from "./write-tree";

export const DEFAULT_SPEC = resolve(__dirname, "..", "examples", "aws-ha.yaml");

const USAGE = `usage:
  drydock validate <spec.yaml>... [--print] check specs; exit 1 with one line per problem
                                            (--print: show one spec with every default filled in)
  drydock render [<spec.yaml>] [--out DIR]  write every host's files and plan.json
                                            (default spec: the bundled examples/aws-ha.yaml; default DIR: ./out)
  drydock help                              this text

exit codes: 0 success, 1 invalid spec, 2 wrong usage or an unusable path (spec file or --out), 3 a bug in drydock`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

class UsageError extends Error {}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        print: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** 1 for a spec with problems; 2 when the file itself could not be read (an unusable path). */
const failureCode = (result: { unreadable?: boolean }) => (result.unreadable ? 2 : 1);

function validateCommand(positionals: string[], print: boolean, io: Io): number {
  if (positionals.length === 0) throw new UsageError("validate takes one or more spec files");
  if (print && positionals.length > 1) throw new UsageError("validate --print takes exactly one spec file");
  let code = 0;
  for (const path of positionals) {
    const result = loadSpecFile(path);
    if (!result.ok) {
      for (const line of problemLines(result)) io.err(line);
      code = Math.max(code, failureCode(result));
    } else if (print) io.out(stringify(specToInput(result.spec)).trimEnd());
    else io.out(`${path}: valid (cluster ${result.spec.name}, ${result.spec.infrastructure.provider})`);
  }
  return code;
}

async function renderCommand(positionals: string[], outDir: string, io: Io): Promise<number> {
  if (positionals.length > 1) throw new UsageError("render takes at most one spec file");
  const specPath = positionals[0] ?? DEFAULT_SPEC;
  const result = loadSpecFile(specPath);
  if (!result.ok) {
    for (const line of problemLines(result)) io.err(line);
    return failureCode(result);
  }
  const tree = await renderWithFreshPki(result.spec);
  const root = writeRenderedTree(outDir, tree);
  io.out(`rendered ${specPath} (cluster ${tree.plan.cluster}) into ${root}`);
  io.out(`  plan: ${join(root, "plan.json")}`);
  io.out(`  admin kubeconfig: ${join(root, "cluster", "admin.kubeconfig")}`);
  for (const host of tree.plan.hosts) {
    io.out(`  ${host.name.padEnd(16)} ${host.address.padEnd(15)} ${host.roles.join(",").padEnd(24)} ${join(root, "hosts", host.name)}`);
  }
  return 0;
}

export async function run(argv: string[], io: Io = consoleIo): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    const [command, ...rest] = positionals;
    if (values.help || command === "help") {
      io.out(USAGE);
      return 0;
    }
    if (command === undefined) throw new UsageError("a command is required");
    switch (command) {
      case "validate":
        return validateCommand(rest, values.print ?? false, io);
      case "render":
        return await renderCommand(rest, values.out ?? "out", io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`drydock: ${err.message}`);
      io.err(USAGE);
      return 2;
    }
    if (err instanceof OutputPathError) {
      io.err(`drydock: ${err.message}`);
      return 2;
    }
    // Not the user's doing: one line, and the stack only when asked for.
    io.err(`drydock: internal error: ${(err as Error)?.message ?? String(err)} (set DRYDOCK_DEBUG=1 for details; please report it)`);
    if (process.env.DRYDOCK_DEBUG) io.err(String((err as Error)?.stack ?? err));
    return 3;
  }
}
