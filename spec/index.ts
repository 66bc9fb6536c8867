// The spec's front door: YAML text or a plain object in, a fully defaulted and
// validated ClusterSpec (or every problem, one per line) out.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { clusterSpecSchema } from "./schema";
import { normalize, type ClusterSpec } from "./normalize";
import { crossFieldProblems, type Problem } from "./rules";
import { formatProblem, schemaProblems, SpecError } from "./problems";

export type { ClusterSpec } from "./normalize";
export type { Problem } from "./rules";
export { SpecError, formatProblem } from "./problems";

export type SpecResult = { ok: true; spec: ClusterSpec } | { ok: false; problems: Problem[] };

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

/** Validates YAML text; problems carry the line they point at where it exists. */
export function validateSpecYaml(text: string, source: string): SpecResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((err) => {
        const pos = err.linePos?.[0];
        const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
        return { path: where, message: `YAML syntax error: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}` };
      }),
    };
  }
  const result = validateSpec(doc.toJS());
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
      return p;
    }),
  };
}

export function loadSpecFile(path: string): SpecResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    return { ok: false, problems: [{ path, message: `cannot read the spec file: ${reason}` }] };
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
