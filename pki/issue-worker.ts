// Worker thread body: issues a slice of an inventory's leaves (see issue-parallel.ts).
import { parentPort, workerData } from "node:worker_threads";
import { issueLeaves } from "./issue";
import type { IssuedCertificate, KeyAlgorithm } from "./x509";
import type { CaId, CertificateSpec } from "./inventory";

export interface WorkerJob {
  readonly certificates: readonly CertificateSpec[];
  readonly cas: Record<CaId, IssuedCertificate>;
  readonly algorithm: KeyAlgorithm;
  readonly certValidityDays: number;
  readonly apiEndpointHost: string | null;
  readonly now: string;
}

const job = workerData as WorkerJob;
parentPort!.postMessage(issueLeaves(job.certificates, job.cas, job, job.apiEndpointHost, new Date(job.now)));
