// Which version changes a running cluster may take: Kubernetes one minor at a
// time (or any patch), never backwards; etcd never backwards.
import { compareVersions, minorOf } from "./catalog";
import type { Problem } from "./rules";

export interface DeployedVersions {
  readonly kubernetes: string;
  readonly etcd: string;
}

export function upgradeProblems(previous: DeployedVersions, next: DeployedVersions): Problem[] {
  const problems: Problem[] = [];
  const [pMajor, pMinor] = minorOf(previous.kubernetes).split(".").map(Number) as [number, number];
  const [nMajor, nMinor] = minorOf(next.kubernetes).split(".").map(Number) as [number, number];
  if (compareVersions(next.kubernetes, previous.kubernetes) < 0) {
    problems.push({ path: "kubernetes.version", message: `${previous.kubernetes} → ${next.kubernetes} is a downgrade; Kubernetes only upgrades (the cluster runs ${previous.kubernetes})` });
  } else if (nMajor !== pMajor || nMinor > pMinor + 1) {
    const step = `${pMajor}.${pMinor + 1}`;
    problems.push({ path: "kubernetes.version", message: `${previous.kubernetes} → ${next.kubernetes} skips a minor; upgrade one minor at a time (next: a ${step} version)` });
  }
  if (compareVersions(next.etcd, previous.etcd) < 0) {
    problems.push({ path: "etcd.version", message: `${previous.etcd} → ${next.etcd} is a downgrade; etcd only upgrades (the cluster runs ${previous.etcd})` });
  }
  return problems;
}
