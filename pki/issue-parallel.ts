// Issues a large inventory on every core: certificate signing is CPU-bound and
// independent per certificate. Small inventories stay on the calling thread.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import type { PkiInventory } from "./inventory";
import { assembleMaterial, issueCas, issueLeaves, issuePki, type PkiMaterial } from "./issue";
import type { WorkerJob } from "./issue-worker";
import type { IssuedCertificate } from "./x509";

/** Below this many certificates a worker's start-up costs more than it saves. */
export const PARALLEL_THRESHOLD = 400;

function startWorker(job: WorkerJob): Promise<IssuedCertificate[]> {
  const file = join(__dirname, `issue-worker${__filename.endsWith(".ts") ? ".ts" : ".js"}`);
  // TypeScript sources need the tsx loader inside the worker too.
  const code = file.endsWith(".ts") ? `require("tsx/cjs/api").register(); require(${JSON.stringify(file)});` : `require(${JSON.stringify(file)});`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: job });
    worker.once("message", (issued: IssuedCertificate[]) => resolve(issued));
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`certificate worker exited with ${code}`)));
  });
}

export async function issuePkiParallel(
  inventory: PkiInventory,
  apiEndpointHost: string | null,
  now: Date = new Date(),
  threads: number = Math.min(availableParallelism(), 8),
): Promise<PkiMaterial> {
  if (inventory.certificates.length < PARALLEL_THRESHOLD || threads < 2) return issuePki(inventory, apiEndpointHost, now);
  const cas = issueCas(inventory, now);
  const size = Math.ceil(inventory.certificates.length / threads);
  const slices = Array.from({ length: threads }, (_, i) => inventory.certificates.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
  const job = (certificates: WorkerJob["certificates"]): WorkerJob => ({
    certificates, cas, algorithm: inventory.algorithm, certValidityDays: inventory.certValidityDays, apiEndpointHost, now: now.toISOString(),
  });
  // Workers take every slice but the first; this thread issues the first meanwhile.
  const pending = slices.slice(1).map((slice) => startWorker(job(slice)));
  const own = issueLeaves(slices[0]!, cas, inventory, apiEndpointHost, now);
  // Slices are consecutive, so concatenated results follow inventory order.
  return assembleMaterial(inventory, cas, [own, ...(await Promise.all(pending))].flat());
}
