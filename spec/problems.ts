// Turns schema issues into "<field.path>: <what is wrong and what is allowed>" lines.
import type { z } from "zod";
import type { Problem } from "./rules";

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(spec)" : out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `"${value}"`;
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  object: "an object",
  array: "a list",
  string: "a string",
  number: "a number",
  boolean: "true or false",
  int: "a whole number",
};

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `is required (${expected})`;
      return `must be ${expected}, got ${describe(issue.input)}`;
    }
    case "invalid_value":
      if (issue.message.includes("must")) return issue.message;
      return `must be one of: ${issue.values.map(String).join(", ")} (got ${describe(issue.input)})`;
    case "too_small": {
      const what = issue.origin === "array" ? "items" : issue.origin === "string" ? "characters" : "";
      if (!issue.message.startsWith("Too small")) return issue.message;
      return `must be at least ${String(issue.minimum)}${what ? ` ${what}` : ""}${issue.origin === "number" ? ` (got ${describe(issue.input)})` : ""}`;
    }
    case "too_big": {
      const what = issue.origin === "array" ? "items" : issue.origin === "string" ? "characters" : "";
      if (!issue.message.startsWith("Too big")) return issue.message;
      return `must be at most ${String(issue.maximum)}${what ? ` ${what}` : ""}${issue.origin === "number" ? ` (got ${describe(issue.input)})` : ""}`;
    }
    default:
      return issue.message;
  }
}

export function schemaProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: issue.message });
    } else if (issue.code === "invalid_union" && issue.message === "Invalid input") {
      // A union without its own message: report the branch that got furthest.
      const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest) problems.push(...schemaProblems([{ ...deepest, path: [...issue.path, ...deepest.path] }]));
      else problems.push({ path: formatPath(issue.path), message: "has the wrong shape" });
    } else {
      problems.push({ path: formatPath(issue.path), message: issueMessage(issue) });
    }
  }
  return problems;
}

export function formatProblem(problem: Problem): string {
  return `${problem.path}: ${problem.message}`;
}

/** A user error in a spec: carries every problem, one per line, and no stack for users. */
export class SpecError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "SpecError";
  }
}
