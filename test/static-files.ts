// Serves a folder's files over HTTP, read-only: the download mirrors of the integration,
// end-to-end and cluster tiers. Test-only.
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, normalize } from "node:path";

/** A request handler for the files under dir (anything else, or outside it, is a 404); onRequest sees each request and its status. */
export function staticFiles(dir: string, onRequest: (req: IncomingMessage, status: number) => void = () => undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? "/").split("?")[0]!)));
    let size = -1;
    try {
      if (path.startsWith(dir) && statSync(path).isFile()) size = statSync(path).size;
    } catch {
      // Not found below.
    }
    onRequest(req, size >= 0 ? 200 : 404);
    if (size < 0) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
    createReadStream(path).pipe(res);
  };
}
