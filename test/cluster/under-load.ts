// Clients that keep using the cluster while a day-2 change runs: a writer creating ConfigMaps
// through the API endpoint (the VIP) with the admin credentials, and a reader of a Service
// from outside the nodes. Each records what it saw, and the longest stretch without a success.
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { parse } from "yaml";

export interface ProbeStats {
  readonly ok: number;
  readonly failed: number;
  /** The longest time between two successes (from the start, and up to the stop, included). */
  readonly longestGapMs: number;
  /** The first failures, for the reader of a failed test. */
  readonly failures: string[];
}

export interface LoadResult {
  readonly api: ProbeStats;
  readonly service: ProbeStats;
  /** The ConfigMaps the API acknowledged (201): each must exist afterwards. */
  readonly acknowledged: string[];
}

interface Credentials {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The server and client credentials of a kubeconfig with embedded data (drydock's admin kubeconfig). */
export function kubeconfigCredentials(text: string): Credentials {
  const config = parse(text);
  const context = config.contexts.find((c: any) => c.name === config["current-context"]).context;
  const cluster = config.clusters.find((c: any) => c.name === context.cluster).cluster;
  const user = config.users.find((u: any) => u.name === context.user).user;
  const data = (b64: string) => Buffer.from(b64, "base64");
  return { server: cluster.server, ca: data(cluster["certificate-authority-data"]), cert: data(user["client-certificate-data"]), key: data(user["client-key-data"]) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Probe {
  private ok = 0;
  private failed = 0;
  private lastSuccess: number;
  private longestGap = 0;
  private readonly failures: string[] = [];
  constructor(started: number) {
    this.lastSuccess = started;
  }
  success(at: number) {
    this.longestGap = Math.max(this.longestGap, at - this.lastSuccess);
    this.lastSuccess = at;
    this.ok++;
  }
  failure(what: string) {
    this.failed++;
    if (this.failures.length < 10) this.failures.push(`${new Date().toISOString()} ${what}`);
  }
  stats(stopped: number): ProbeStats {
    return { ok: this.ok, failed: this.failed, longestGapMs: Math.max(this.longestGap, stopped - this.lastSuccess), failures: this.failures };
  }
}

/** One request; resolves with the status and body, or rejects (timeout, refused, TLS). */
function send(req: ReturnType<typeof httpsRequest>, body: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.end(body);
  });
}

export interface LoadOptions {
  readonly kubeconfig: string;
  readonly namespace: string;
  /** Labels every ConfigMap the writer creates (value: this run's name). */
  readonly label: string;
  readonly serviceUrl: string;
  /** What the Service's answer must contain. */
  readonly serviceAnswer: RegExp;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** The longest the clients may run: they stop by themselves after it. */
  readonly maxDurationMs: number;
}

/** Starts both clients; stop() ends them and returns what they saw. */
export function startLoad(options: LoadOptions): { stop: () => Promise<LoadResult> } {
  const creds = kubeconfigCredentials(options.kubeconfig);
  const server = new URL(creds.server);
  const interval = options.intervalMs ?? 250;
  const timeout = options.timeoutMs ?? 3000;
  const started = Date.now();
  const deadline = started + options.maxDurationMs;
  const api = new Probe(started);
  const service = new Probe(started);
  const acknowledged: string[] = [];
  let stopping = false;
  const running = () => !stopping && Date.now() < deadline;

  const writer = (async () => {
    for (let n = 0; running(); n++) {
      const begun = Date.now();
      const name = `${options.label}-${n}`;
      const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { "drydock.test/load": options.label } }, data: { n: String(n) } });
      // A new connection each time, as separate clients would: the endpoint picks a server per connection.
      const req = httpsRequest({
        host: server.hostname,
        port: server.port,
        method: "POST",
        path: `/api/v1/namespaces/${options.namespace}/configmaps`,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      });
      try {
        const res = await send(req, body, timeout);
        if (res.status === 201) {
          acknowledged.push(name);
          api.success(Date.now());
        } else api.failure(`${name}: HTTP ${res.status} ${res.body.slice(0, 600)}`);
      } catch (err) {
        api.failure(`${name}: ${(err as Error).message}`);
      }
      await sleep(Math.max(0, interval - (Date.now() - begun)));
    }
  })();

  const reader = (async () => {
    while (running()) {
      const begun = Date.now();
      try {
        // The suite's one-line server answers with bare LF line ends: accepted, as curl accepts them.
        const res = await send(httpRequest(options.serviceUrl, { agent: false, insecureHTTPParser: true }), undefined, timeout);
        if (res.status === 200 && options.serviceAnswer.test(res.body)) service.success(Date.now());
        else service.failure(`HTTP ${res.status} ${res.body.slice(0, 100)}`);
      } catch (err) {
        service.failure((err as Error).message);
      }
      await sleep(Math.max(0, interval - (Date.now() - begun)));
    }
  })();

  return {
    async stop() {
      stopping = true;
      await Promise.all([writer, reader]);
      const stopped = Date.now();
      return { api: api.stats(stopped), service: service.stats(stopped), acknowledged };
    },
  };
}

/** The certificate a TLS server presents (SHA-256 fingerprint); the handshake needs no client certificate to get that far. */
export function servedFingerprint(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert.fingerprint256);
      else reject(new Error(`${host}:${port} presented no certificate`));
    });
    socket.once("timeout", () => socket.destroy(new Error(`${host}:${port}: no TLS answer in ${timeoutMs} ms`)));
    socket.once("error", reject);
  });
}

/** A PEM certificate's SHA-256 fingerprint, as servedFingerprint gives it. */
export const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
