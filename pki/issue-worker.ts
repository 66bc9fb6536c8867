// Worker thread body: issues a slice of an inventory's leaves (see issue-parallel.ts).
import { parentPort, workerData } from "node:worker_threads";
import { issueLeaf } from "./issue";
import { newIssuerCache, type IssuedCertificate, type KeyAlgorithm } from "./x509";
import type { CaId, CertificateSpec } from "./inventory";

export interface WorkerJob {
  readonly certificates: readonly CertificateSpec[];
  readonly cas: Record<CaId, IssuedCertificate>;
  readonly algorithm: KeyAlgorithm;
  readonly validityDays: number;
  readonly apiEndpointHost: string | null;
  readonly now: string;
}

const job = workerData as WorkerJob;
const cache = newIssuerCache();
const now = new Date(job.now);
const issued = job.certificates.map((cert) =>
  issueLeaf(cert, job.cas[cert.ca], job.algorithm, job.validityDays, job.apiEndpointHost, now, cache),
);
parentPort!.postMessage(issued);
