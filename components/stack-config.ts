// Loads the cluster spec from stack config: `drydock:specFile` (a YAML path,
// relative to the project directory) or `drydock:cluster` (a structured object).
import * as pulumi from "@pulumi/pulumi";
import { resolve } from "node:path";
import { formatProblem, loadSpecFile, validateSpec, type ClusterSpec, type SpecResult } from "../spec";

export function specFromConfig(config: pulumi.Config): SpecResult {
  const specFile = config.get("specFile");
  const inline = config.getObject<unknown>("cluster");
  if (specFile !== undefined && inline !== undefined) {
    return { ok: false, problems: [{ path: "drydock:specFile", message: "set either drydock:specFile or drydock:cluster, not both" }] };
  }
  if (inline !== undefined) return validateSpec(inline);
  if (specFile !== undefined) return loadSpecFile(resolve(specFile));
  return {
    ok: false,
    problems: [{ path: "drydock:specFile", message: "no spec: set drydock:specFile (path to a cluster YAML) or drydock:cluster (the spec as an object)" }],
  };
}

/** The spec, or a RunError (shown to users without a stack trace) listing every problem. */
export function requireSpecFromConfig(config: pulumi.Config): ClusterSpec {
  const result = specFromConfig(config);
  if (!result.ok) {
    throw new pulumi.RunError(`invalid drydock spec:\n${result.problems.map(formatProblem).join("\n")}`);
  }
  return result.spec;
}
