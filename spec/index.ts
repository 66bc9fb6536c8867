// The spec's front door: YAML text or a plain object in, a fully defaulted and
// validated ClusterSpec (or every problem, one per line) out.
import { closeSync, openSync, readSync } from "node:fs";
import { LineCounter, Parser, parseDocument } from "yaml";
import { clusterSpecSchema } from "./schema";
import { normalize, type ClusterSpec } from "./normalize";
import { crossFieldProblems, type Problem } from "./rules";
import { formatProblem, schemaProblems, SpecError } from "./problems";

export type { ClusterSpec } from "./normalize";
export type { Problem } from "./rules";
export { SpecError, formatProblem } from "./problems";

/** `unreadable`: the file itself could not be read (missing, a folder, too large), so no spec was checked. */
export type SpecResult = { ok: true; spec: ClusterSpec } | { ok: false; problems: Problem[]; unreadable?: boolean };

/** Validates a plain object (parsed YAML or stack config). */
export function validateSpec(input: unknown): SpecResult {
  const parsed = clusterSpecSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: schemaProblems(parsed.error.issues) };
  const spec = normalize(parsed.data);
  const problems = crossFieldProblems(spec, parsed.data);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, spec };
}

/** "workers.pools[0].count" -> ["workers", "pools", 0, "count"] */
function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return parts;
}

/** Far deeper than any spec; YAML nested deeper is refused before it is composed (recursively). */
const MAX_NESTING = 64;
const MAX_SYNTAX_PROBLEMS = 10;

/** Nesting depth of the YAML's collections, measured on the parser's tokens without recursion. */
function nestingDepth(text: string): number {
  const collections = new Set(["block-map", "block-seq", "flow-collection"]);
  let deepest = 0;
  const pending: [unknown, number][] = [...new Parser().parse(text)].map((token) => [token, 0]);
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== "object") continue;
    const level = collections.has((node as { type?: string }).type ?? "") ? depth + 1 : depth;
    if (level > deepest) deepest = level;
    if (deepest > MAX_NESTING) break;
    for (const child of Object.values(node as object)) if (child !== null && typeof child === "object") pending.push([child, level]);
  }
  return deepest;
}

/** Validates YAML text; problems carry the line they point at where it exists. */
export function validateSpecYaml(text: string, source: string): SpecResult {
  if (nestingDepth(text) > MAX_NESTING) {
    return { ok: false, problems: [{ path: source, message: `YAML nested deeper than ${MAX_NESTING} levels; a spec needs a handful` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const more = doc.errors.length - MAX_SYNTAX_PROBLEMS;
    return {
      ok: false,
      problems: doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((err, i) => {
        const pos = err.linePos?.[0];
        const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
        const tail = i === MAX_SYNTAX_PROBLEMS - 1 && more > 0 ? ` (and ${more} more syntax errors)` : "";
        return { path: where, message: `YAML syntax error: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}${tail}` };
      }),
    };
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, problems: [{ path: source, message: `cannot read the YAML: ${(err as Error).message.split("\n")[0]}` }] };
  }
  if (input === null || input === undefined) {
    return { ok: false, problems: [{ path: source, message: "the spec is empty; it must be a YAML mapping with at least name and infrastructure" }] };
  }
  const result = validateSpec(input);
  if (result.ok) return result;
  return {
    ok: false,
    problems: result.problems.map((p) => {
      const parts = pathParts(p.path);
      // Point at the field, or its nearest written ancestor when it is missing.
      for (let n = parts.length; n > 0; n--) {
        const node = doc.getIn(parts.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node && node.range) {
          return { ...p, message: `${p.message} (${source}:${lineCounter.linePos(node.range[0]).line})` };
        }
      }
      return { ...p, message: `${p.message} (${source})` };
    }),
  };
}

/** Far above any real spec (a 1000-worker hosts list is about 100 KiB). */
export const MAX_SPEC_BYTES = 4 * 1024 * 1024;

/** What a path's errno means to a user, for reading and writing alike. */
export const PATH_ERRORS: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  ENOTDIR: "a part of the path is a file, not a folder",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "too many symbolic links",
};

const READ_ERRORS: Record<string, string> = { ...PATH_ERRORS, ENOENT: "no such file", EISDIR: "is a folder, not a file" };

/** Reads at most MAX_SPEC_BYTES: /dev/zero or a huge file is refused, never read to the end. */
function readBounded(path: string): string {
  const fd = openSync(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_SPEC_BYTES) throw new SpecTooLarge();
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

class SpecTooLarge extends Error {}

export function loadSpecFile(path: string): SpecResult {
  let text: string;
  try {
    text = readBounded(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      err instanceof SpecTooLarge
        ? `larger than ${MAX_SPEC_BYTES / 1024 / 1024} MiB; a spec is a short YAML file`
        : (code && READ_ERRORS[code]) ?? (code ? `cannot read it (${code})` : (err as Error).message);
    return { ok: false, unreadable: true, problems: [{ path: path === "" ? "(empty path)" : path, message: `cannot read the spec file: ${reason}` }] };
  }
  return validateSpecYaml(text, path);
}

/** Returns the spec or throws a SpecError listing every problem. */
export function requireSpec(result: SpecResult): ClusterSpec {
  if (!result.ok) throw new SpecError(result.problems);
  return result.spec;
}

export function problemLines(result: SpecResult): string[] {
  return result.ok ? [] : result.problems.map(formatProblem);
}
