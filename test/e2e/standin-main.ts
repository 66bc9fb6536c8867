// A kube-apiserver stand-in as its own process, so it can listen inside a test
// host's network namespace (ip netns exec) on that host's address.
import { startApiServerStandIn } from "../integration/apiserver-standin";

const [host, port, cert, key, clientCa, name] = process.argv.slice(2);
if (!host || !port || !cert || !key || !clientCa) throw new Error("usage: standin-main <address> <port> <cert> <key> <client-ca> [name]");
startApiServerStandIn({ host, port: Number(port), cert, key, clientCa, name: name ?? host }).then(() => console.log(`listening on ${host}:${port}`));
