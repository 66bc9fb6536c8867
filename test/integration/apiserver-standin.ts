// A TLS stand-in for kube-apiserver: serves /readyz with a rendered serving
// certificate. Like drydock's API server (AuthenticationConfiguration), requests
// without a client certificate are anonymous and may reach only health paths; a
// client certificate the cluster CA does not verify is answered 401.
import { createServer, type Server } from "node:https";
import { readFileSync } from "node:fs";

export interface StandIn {
  readonly server: Server;
  readonly requests: string[];
  /** Why requests were refused (client certificate verification). */
  readonly refusals: string[];
  /** Anonymous health probes (load balancers). */
  readonly anonymous: string[];
  close(): Promise<void>;
}

export interface StandInOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: string;
  readonly key: string;
  readonly clientCa: string;
  readonly name?: string;
  /** JSON bodies of further paths, for authenticated clients (undefined: 404). */
  readonly objects?: (path: string) => unknown;
}

/** Legacy discovery for the core group's pods: enough for `kubectl get pod`. */
export function podDiscovery(path: string): unknown {
  if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  if (path === "/apis") return { kind: "APIGroupList", apiVersion: "v1", groups: [] };
  if (path === "/api/v1") {
    return { kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list"], shortNames: ["po"] }] };
  }
  return undefined;
}

export async function startApiServerStandIn(opts: StandInOptions): Promise<StandIn> {
  const requests: string[] = [];
  const refusals: string[] = [];
  const anonymous: string[] = [];
  const server = createServer(
    {
      cert: readFileSync(opts.cert),
      key: readFileSync(opts.key),
      ca: readFileSync(opts.clientCa),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (req, res) => {
      const socket = req.socket as import("node:tls").TLSSocket;
      const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
      const health = ["/readyz", "/livez", "/healthz"].includes((req.url ?? "").split("?")[0]!);
      if (!presented && health) {
        anonymous.push(req.url ?? "");
        res.writeHead(200, { "content-type": "text/plain", "x-standin": opts.name ?? "" });
        res.end("ok");
        return;
      }
      if (!socket.authorized) {
        refusals.push(String(socket.authorizationError));
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 }));
        return;
      }
      const peer = socket.getPeerCertificate();
      requests.push(`${req.url} ${peer.subject?.CN ?? ""}`);
      const path = (req.url ?? "").split("?")[0]!;
      const object = opts.objects?.(path);
      if (req.url === "/readyz" || req.url?.startsWith("/readyz?")) {
        res.writeHead(200, { "content-type": "text/plain", "x-standin": opts.name ?? "" });
        res.end("ok");
      } else if (object !== undefined) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(object));
      } else {
        res.writeHead(404);
        res.end();
      }
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    requests,
    refusals,
    anonymous,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
