// The artifact mirror on the test lan: serves a folder over HTTP. Started inside
// the lan's network namespace (ip netns exec), so it listens on the lan address.
import { createServer } from "node:http";
import { staticFiles } from "../static-files";

const [dir, host, port] = process.argv.slice(2);
if (!dir || !host || !port) throw new Error("usage: mirror-main <dir> <address> <port>");

const server = createServer(staticFiles(dir, (req, status) => console.log(`${req.method} ${req.url} ${status}`)));
// The address may not exist yet (the local backend creates its bridge during pulumi up): retry, bounded.
let attempts = 0;
server.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EADDRNOTAVAIL" || ++attempts > 3600) throw err;
  setTimeout(() => server.listen(Number(port), host), 250);
});
server.listen(Number(port), host, () => console.log(`listening on ${host}:${port}`));
