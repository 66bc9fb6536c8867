// The library's front door (package "drydock"): the Cluster component and the spec functions,
// for Pulumi programs of your own. index.ts is this repository's own Pulumi program.
export { Cluster, type ClusterArgs, type NodeSummary } from "./components/cluster";
export { loadSpecFile, validateSpec, validateSpecYaml, requireSpec, problemLines, SpecError, formatProblem } from "./spec";
export type { ClusterSpec, Problem, SpecResult } from "./spec";
