// The artifact mirror on the test lan: serves a folder over HTTP. Started inside
// the lan's network namespace (ip netns exec), so it listens on the lan address.
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { join, normalize } from "node:path";

const [dir, host, port] = process.argv.slice(2);
if (!dir || !host || !port) throw new Error("usage: mirror-main <dir> <address> <port>");

const server = createServer((req, res) => {
  const path = normalize(join(dir, decodeURIComponent((req.url ?? "/").split("?")[0]!)));
  let size = -1;
  try {
    if (path.startsWith(dir) && statSync(path).isFile()) size = statSync(path).size;
  } catch {
    // Not found below.
  }
  console.log(`${req.method} ${req.url} ${size >= 0 ? 200 : 404}`);
  if (size < 0) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
  createReadStream(path).pipe(res);
});
// The address may not exist yet (the local backend creates its bridge during pulumi up): retry, bounded.
let attempts = 0;
server.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EADDRNOTAVAIL" || ++attempts > 3600) throw err;
  setTimeout(() => server.listen(Number(port), host), 250);
});
server.listen(Number(port), host, () => console.log(`listening on ${host}:${port}`));
