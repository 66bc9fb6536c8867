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

export async function startApiServerStandIn(opts: { host: string; port: number; cert: string; key: string; clientCa: string; name?: string }): Promise<StandIn> {
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
      if (req.url === "/readyz" || req.url?.startsWith("/readyz?")) {
        res.writeHead(200, { "content-type": "text/plain", "x-standin": opts.name ?? "" });
        res.end("ok");
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
