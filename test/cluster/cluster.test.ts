// A real Kubernetes cluster from `pulumi up`: examples/local-ha.yaml through the real
// Pulumi engine (Automation API, inline index.ts; the command provider is the toolchain's
// stand-in, see the README), on systemd-nspawn machines the local backend creates, with
// Kubernetes, containerd, runc, etcd, CNI plugins and CoreDNS built here from their Go
// modules. Binaries reach the machines through artifacts.mirror and overrides (served on the
// bridge), images through containerd registryMirrors (a registry on the bridge). Probed with
// the toolchain's kubectl and the stack's admin kubeconfig.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { requireSpec, validateSpec, type ClusterSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { ProcessGroup, run, runAsync, waitFor } from "../integration/helpers";
import type { EngineStack, PlannedStep } from "../e2e/engine";
import { readLog } from "../e2e/engine";
import { bridgeName, hostWideSysctls, readSysctl, removeNetwork, restoreSysctls } from "../../local/host";
import { destroyMachine, machineNames, machineRunning, removeClusterFolder } from "../../local/machine";
import { etcdctl } from "../../hosts/etcd";
import { AUDIT_LOG_DIR } from "../../hosts/control-plane";
import { resetScript } from "../../hosts/file-bundle";
import { SYSCTL_BEFORE } from "../../hosts/os";
import { KUBELET_PKI_DIR } from "../../hosts/pki-files";
import { fingerprintOf, servedFingerprint, startLoad, type LoadResult } from "./under-load";
import { configure, GATEWAY, KUBERNETES, MACHINES, MIRROR_PORT, openEngine, prepareLocalCluster, STACK, SUBNET, TOOLBOX, UPGRADE_TO, VIP } from "./local-cluster";
import { packKubernetes, type Override } from "./artifacts";
import { UPGRADE_SET } from "../toolchain/build";

const log = (line: string) => process.stderr.write(`# cluster: ${line}\n`);
/** Keeps the cluster, its servers and work folder after the run (take it down with pulumi destroy there). */
const keep = Boolean(process.env.DRYDOCK_CLUSTER_KEEP);
/** A kept run's work folder: run the tests again on that cluster (its servers must still run). */
const reuse = process.env.DRYDOCK_CLUSTER_WORKDIR;
let workDir = "";
let engine: EngineStack;
let logFile = "";
let kubeconfig = "";
let sshKey = "";
let specFile = "";
let destroyed = false;
/** The upgrade's kubelet and kubectl overrides (served on the bridge beside the cluster's own). */
let upgradeOverrides: Override[] | undefined;
const procs = new ProcessGroup();
const sysctlsBefore = new Map<string, string>();

const kubectl = (...args: string[]) => runAsync("kubectl", [`--kubeconfig=${kubeconfig}`, "--request-timeout=20s", ...args], { timeoutMs: 60_000 });
const kubectlOk = (...args: string[]) => kubectlWait(60_000, "--request-timeout=20s", ...args);
/** kubectl that fails the test on an error; what waits on the cluster itself (rollouts) gives its own bound. */
async function kubectlWait(timeoutMs: number, ...args: string[]): Promise<string> {
  const r = await runAsync("kubectl", [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
/** cp-1's address, as the stack's nodes output has it. */
let nodes: { name: string; address: string }[] = [];
const controlPlaneAddress = () => nodes.find((n) => n.name === "cp-1")!.address;
const controlPlaneNodes = () => nodes.filter((n) => n.name.startsWith("cp-"));
/** Whether every machine's node reports Ready. */
async function allNodesReady(): Promise<boolean> {
  const r = await kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}");
  return MACHINES.every((m) => r.stdout.includes(`${m}=True`));
}
const sshOptions = () => ["-i", sshKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"];
const ssh = (address: string, command: string) => runAsync("ssh", [...sshOptions(), `root@${address}`, command], { timeoutMs: 60_000 });

before(async () => {
  if (reuse) {
    workDir = reuse;
    sshKey = join(workDir, "id_ed25519");
    ({ engine, logFile } = await openEngine(workDir));
    specFile = join(workDir, "cluster.yaml");
    // The mirror serves the folder as packed: packing the same builds again gives the same files.
    upgradeOverrides = packKubernetes(join(workDir, "mirror"), `http://${GATEWAY}:${MIRROR_PORT}`, UPGRADE_TO, UPGRADE_SET);
    log(`reusing ${workDir}`);
    return;
  }
  for (const key of Object.keys(hostWideSysctls(false))) sysctlsBefore.set(key, readSysctl(key));
  workDir = mkdtempSync("/tmp/drydock-cluster-");
  const prepared = await prepareLocalCluster(workDir, (cmd, args) => procs.start(cmd, args), log, true);
  sshKey = prepared.sshKey;
  upgradeOverrides = prepared.upgradeOverrides;
  specFile = prepared.specFile;
  ({ engine, logFile } = await openEngine(workDir));
  await configure(engine, prepared.specFile, sshKey);
  log(`work dir ${workDir}; engine log ${logFile}`);
});

after(async () => {
  if (!destroyed && engine && !keep && !reuse) {
    try {
      await engine.destroy();
    } catch (err) {
      // The engine could not (a machine it needs is down): take down what this run created, by name.
      log(`destroy failed, removing the machines directly: ${(err as Error).message.slice(-1500)}`);
      for (const name of [...MACHINES, "worker-3"]) await destroyMachine({ cluster: STACK, name });
      removeNetwork({ cluster: STACK, bridge: bridgeName(STACK), subnet: SUBNET, gateway: GATEWAY, prefix: 24, nat: false });
      restoreSysctls(Object.fromEntries(sysctlsBefore));
      removeClusterFolder(STACK);
    }
  }
  if (!keep) await procs.stopAll();
  if (workDir && !keep && !reuse) rmSync(workDir, { recursive: true, force: true });
});

test("pulumi up creates the machines and a cluster whose five nodes turn Ready", { timeout: 45 * 60_000 }, async () => {
  const started = Date.now();
  let up;
  try {
    up = await engine.up();
  } catch (err) {
    log(readLog(logFile).slice(-6000));
    throw err;
  }
  assert.equal(up.summary.result, "succeeded");
  assert.equal(up.outputs.adminKubeconfig?.secret, true, "the admin kubeconfig output is secret");
  nodes = up.outputs.nodes!.value as typeof nodes;
  kubeconfig = join(workDir, "admin.kubeconfig");
  writeFileSync(kubeconfig, up.outputs.adminKubeconfig!.value as string, { mode: 0o600 });
  await waitFor("five Ready nodes", allNodesReady, 120, 5000);
  log(`pulumi up to all nodes Ready: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  log(await kubectlOk("get", "nodes", "-o", "wide"));
});

test("every kubelet renews its client certificate through an approved CSR and uses the renewed one", { timeout: 5 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  // A kubelet that starts from drydock's certificate asks for a renewal at once (CIS 4.2.10).
  const issued = new Map<string, string>();
  await waitFor(
    "an issued kubelet client CSR per node",
    async () => {
      const csrs = JSON.parse((await kubectl("get", "csr", "-o", "json")).stdout || "{\"items\":[]}").items as any[];
      for (const csr of csrs) {
        const approved = (csr.status?.conditions ?? []).some((c: any) => c.type === "Approved" && c.status === "True");
        if (csr.spec.signerName === "kubernetes.io/kube-apiserver-client-kubelet" && approved && csr.status?.certificate) issued.set(csr.spec.username, Buffer.from(csr.status.certificate, "base64").toString("utf8"));
      }
      return MACHINES.every((m) => issued.has(`system:node:${m}`));
    },
    60,
    2000,
  );
  for (const machine of MACHINES) {
    const pem = issued.get(`system:node:${machine}`)!;
    const cert = new X509Certificate(pem);
    assert.match(cert.subject, new RegExp(`CN=system:node:${machine}`), machine);
    assert.match(cert.subject, /O=system:nodes/, machine);
    // Only the certificate part of the kubelet's current pair is read; its key stays on the node.
    const address = nodes.find((n) => n.name === machine)!.address;
    const current = () => ssh(address, "sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' /var/lib/kubelet/pki/kubelet-client-current.pem");
    // The kubelet writes the issued certificate a moment after the CSR has it.
    await waitFor(`${machine} on its renewed certificate`, async () => (await current()).stdout.trim() === pem.trim(), 30, 1000);
  }
  assert.ok(await allNodesReady(), "every node Ready on its renewed certificate");
});

test("pods run on both workers; exec, logs, pod-to-pod, ClusterIP, NodePort and DNS work", { timeout: 20 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  // A one-line HTTP server from the toolbox's socat: answers with the pod's name.
  const serve = 'socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo HTTP/1.0 200 OK; echo; hostname"';
  const manifest = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          // Two per worker: the control planes' taint keeps them out of the count.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", nodeTaintsPolicy: "Honor", labelSelector: { matchLabels: { app: "web" } } }],
          containers: [{ name: "web", image: TOOLBOX, command: ["/bin/bash", "-c", `echo serving; ${serve}`], ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  };
  const service = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] } };
  // As a user keeps a Service up through node drains (kubectl drain honours it).
  const budget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web", namespace: "default" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } };
  writeFileSync(join(workDir, "web.yaml"), [manifest, service, budget].map((o) => stringify(o)).join("---\n"));
  await kubectlOk("apply", "-f", join(workDir, "web.yaml"));
  await kubectlWait(620_000, "rollout", "status", "deployment/web", "--timeout=600s");
  const pods = JSON.parse(await kubectlOk("get", "pods", "-l", "app=web", "-o", "json")).items as any[];
  assert.equal(pods.length, 4);
  assert.deepEqual([...new Set(pods.map((p) => p.spec.nodeName))].sort(), ["worker-1", "worker-2"], "scheduled on both workers");
  assert.match(await kubectlOk("logs", pods[0].metadata.name), /serving/, "kubectl logs (API server to kubelet)");
  const onOther = pods.find((p) => p.spec.nodeName !== pods[0].spec.nodeName);
  const execIn = (pod: any, cmd: string) => kubectlOk("exec", pod.metadata.name, "--", "bash", "-c", cmd);
  assert.match(await execIn(pods[0], `curl -s --max-time 5 http://${onOther.status.podIP}:8080/`), new RegExp(onOther.metadata.name), "pod to pod across nodes");
  const clusterIP = JSON.parse(await kubectlOk("get", "service", "web", "-o", "json")).spec.clusterIP;
  assert.match(await execIn(pods[0], `curl -s --max-time 5 http://${clusterIP}/`), /web-/, "ClusterIP");
  const otherNodeIP = (await kubectlOk("get", "node", onOther.spec.nodeName, "-o", "jsonpath={.status.addresses[?(@.type==\"InternalIP\")].address}")).trim();
  assert.match(await execIn(pods[0], `curl -s --max-time 5 http://${otherNodeIP}:30080/`), /web-/, "NodePort on the other node");
  // CoreDNS comes up with the cluster; wait for its rollout (bounded) before asking it.
  await kubectlWait(320_000, "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=300s");
  assert.match(await execIn(pods[0], "getent hosts kubernetes.default.svc.cluster.local"), /^10\.96\.0\.1\s/, "cluster DNS");
  assert.match(await execIn(pods[0], "getent hosts web.default.svc.cluster.local"), new RegExp(`^${clusterIP.replaceAll(".", "\\.")}\\s`), "the Service by name");
  // kube-proxy programs the Services in the mode the spec asked for.
  const mode = parse(readFileSync(specFile, "utf8")).network.proxyMode as string;
  const rules = await ssh(otherNodeIP, mode === "nftables" ? "nft list table ip kube-proxy | grep -c 'chain service-'" : "iptables-save -t nat | grep -c '^-A KUBE-SVC-'");
  assert.ok(Number(rules.stdout.trim()) > 0, `kube-proxy's ${mode} rules on ${onOther.spec.nodeName}: ${rules.stdout}${rules.stderr}`);
  log(`kube-proxy mode ${mode}: ${rules.stdout.trim()} service chains on ${onOther.spec.nodeName}`);
  const coredns = JSON.parse(await kubectlOk("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json")).items as any[];
  assert.ok(coredns.length > 0 && coredns.every((p) => p.status.containerStatuses?.[0]?.ready && p.status.containerStatuses[0].restartCount === 0), "CoreDNS Ready, never restarted (no loop)");
});

test("metrics-server: kubectl top nodes and pods, with every kubelet's serving certificate verified against the cluster CA", { timeout: 10 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  await kubectlWait(320_000, "-n", "kube-system", "rollout", "status", "deployment/metrics-server", "--timeout=300s");
  const args = JSON.parse(await kubectlOk("-n", "kube-system", "get", "deployment", "metrics-server", "-o", "json")).spec.template.spec.containers[0].args as string[];
  assert.ok(args.includes("--kubelet-certificate-authority=/etc/kubernetes/ca/ca.crt") && !args.some((a) => a.startsWith("--kubelet-insecure-tls")), `verifies the kubelets: ${args.join(" ")}`);
  // The first scrape comes a resolution (15 s) after start; bounded wait for every node's figures.
  let top = "";
  await waitFor("every node in kubectl top nodes", async () => {
    top = (await kubectl("top", "nodes", "--no-headers")).stdout;
    return MACHINES.every((m) => new RegExp(`^${m}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi`, "m").test(top));
  }, 40, 5000);
  log(`kubectl top nodes:\n${top}`);
  let pods = "";
  await waitFor("the web pods in kubectl top pods", async () => {
    pods = (await kubectl("top", "pods", "-l", "app=web", "--no-headers")).stdout;
    return pods.trim().split("\n").filter((l) => /^web-\S+\s+\d+m\s+\d+Mi/.test(l)).length === 4;
  }, 40, 5000);
  const logs = await kubectlOk("-n", "kube-system", "logs", "deployment/metrics-server");
  assert.doesNotMatch(logs, /x509|certificate signed by unknown authority/, "no kubelet certificate refused");
});

test("security: Secrets encrypted in etcd and audited without their data, anonymous requests refused, restricted namespaces refuse privileged pods, NodeRestriction holds", { timeout: 10 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  await kubectlOk("create", "secret", "generic", "drydock-probe", "--from-literal=token=plain-text-value");
  const raw = await ssh(controlPlaneAddress(), `${etcdctl("get /registry/secrets/default/drydock-probe --print-value-only")} | head -c 64`);
  assert.equal(raw.code, 0, raw.stderr);
  assert.ok(raw.stdout.startsWith("k8s:enc:secretbox:v1:"), `stored as ${JSON.stringify(raw.stdout.slice(0, 30))}`);
  assert.ok(!raw.stdout.includes("plain-text-value"));
  const anonymous = await runAsync("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", `https://${VIP}:8443/api/v1/namespaces/default/secrets`]);
  assert.equal(anonymous.stdout, "401", "anonymous request refused");
  const healthz = await runAsync("curl", ["-sk", `https://${VIP}:8443/readyz`]);
  assert.equal(healthz.stdout, "ok", "health endpoints stay open to probes");
  await kubectlOk("create", "namespace", "locked");
  await kubectlOk("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted");
  const privileged = { apiVersion: "v1", kind: "Pod", metadata: { name: "root", namespace: "locked" }, spec: { containers: [{ name: "c", image: TOOLBOX, securityContext: { privileged: true } }] } };
  writeFileSync(join(workDir, "privileged.yaml"), stringify(privileged));
  const refused = await kubectl("apply", "-f", join(workDir, "privileged.yaml"));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /violates PodSecurity "restricted/);

  // The audit log records the Secret's creation at Metadata level, never its data.
  const controlPlanes = controlPlaneNodes();
  const audited = async () => {
    const logs = await Promise.all(controlPlanes.map((n) => ssh(n.address, `grep -h '"resource":"secrets"' ${AUDIT_LOG_DIR}/audit.log | grep '"name":"drydock-probe"' | grep '"verb":"create"' || true`)));
    return logs.map((l) => l.stdout).join("");
  };
  await waitFor("the Secret's creation in an API server's audit log", async () => (await audited()).includes('"level":"Metadata"'), 30, 1000);
  for (const n of controlPlanes) {
    const leaked = await ssh(n.address, `grep -c plain-text-value ${AUDIT_LOG_DIR}/audit.log || true`);
    assert.equal(leaked.stdout.trim(), "0", `${n.name}: a Secret's value in the audit log`);
  }

  // NodeRestriction: a kubelet's credentials change its own Node, not another's, and not the
  // labels reserved for the control plane. Sent from worker-1 with its own client certificate.
  const worker = nodes.find((n) => n.name === "worker-1")!;
  const patchNode = async (node: string, label: string) => {
    const body = JSON.stringify({ metadata: { labels: { [label]: "probe" } } });
    const r = await ssh(worker.address, `curl -s -o /dev/null -w '%{http_code}' --cacert /etc/kubernetes/pki/ca.crt --cert /var/lib/kubelet/pki/kubelet-client-current.pem -X PATCH -H 'Content-Type: application/merge-patch+json' -d '${body}' https://${VIP}:8443/api/v1/nodes/${node}`);
    return r.stdout;
  };
  assert.equal(await patchNode("worker-1", "drydock.test/probe"), "200", "a kubelet labels its own Node");
  assert.equal(await patchNode("worker-2", "drydock.test/probe"), "403", "a kubelet cannot change another Node");
  assert.equal(await patchNode("worker-1", "node-restriction.kubernetes.io/probe"), "403", "nor give itself a label reserved by NodeRestriction");
  await kubectlOk("label", "node", "worker-1", "drydock.test/probe-");
});

test("failover: the VIP holder powers off; kubectl through the VIP answers again within seconds, etcd keeps quorum", { timeout: 10 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  const controlPlanes = controlPlaneNodes();
  const holds = async (n: { address: string }) => (await ssh(n.address, "ip -br addr show eth0")).stdout.includes(` ${VIP}/32`);
  const holder = (await Promise.all(controlPlanes.map(async (n) => ((await holds(n)) ? n : null)))).find((n) => n !== null);
  assert.ok(holder, "one control plane holds the VIP");
  await ssh(holder.address, "systemctl poweroff");
  const started = Date.now();
  // Bounded: 240 tries of a 2-second request, a quarter second apart.
  await waitFor("the API through the VIP", async () => (await kubectl("--request-timeout=2s", "get", "--raw", "/readyz")).stdout === "ok", 240, 250);
  const gap = (Date.now() - started) / 1000;
  log(`VIP failover: the API answered through ${VIP} again ${gap.toFixed(1)} s after ${holder.name} powered off`);
  const survivors = controlPlanes.filter((n) => n !== holder);
  assert.equal((await Promise.all(survivors.map(holds))).filter(Boolean).length, 1, "exactly one survivor holds the VIP");
  const health = await ssh(survivors[0]!.address, etcdctl("endpoint health", survivors.map((n) => `https://${n.address}:2379`).join(",")));
  assert.equal(health.code, 0, `etcd keeps quorum with two members: ${health.stdout}${health.stderr}`);
  assert.ok(gap < 30, `failover took ${gap.toFixed(1)} s`);

  // pulumi up finds the machine powered off and boots it again from its own disk; it rejoins.
  await waitFor(`${holder.name} powered off`, () => !machineRunning({ cluster: STACK, name: holder.name }), 180, 1000);
  const up = await engine.up();
  assert.deepEqual(up.summary.resourceChanges, { same: up.summary.resourceChanges!.same!, update: 1 }, `only ${holder.name}'s machine changes: ${JSON.stringify(up.summary.resourceChanges)}`);
  await waitFor("every node Ready again", allNodesReady, 60, 5000);
  const members = await ssh(holder.address, etcdctl("endpoint health", controlPlanes.map((n) => `https://${n.address}:2379`).join(",")));
  assert.equal(members.code, 0, `all three etcd members healthy again: ${members.stdout}${members.stderr}`);
});

/** The spec the stack runs now: the example's, with the changes applied so far. */
let currentSpec: Record<string, any> | undefined;
/** A change to the cluster's spec through the stack's config, as a user edits the spec and runs pulumi up. */
async function changeSpec(label: string, change: (spec: Record<string, any>) => void): Promise<ClusterSpec> {
  // A reused cluster's stack may run a changed spec already: start from the one its config names.
  const spec = structuredClone(currentSpec ?? parse(readFileSync((await engine.stack.getConfig("drydock:specFile")).value, "utf8")));
  change(spec);
  const file = join(workDir, `cluster-${label}.yaml`);
  writeFileSync(file, stringify(spec));
  await configure(engine, file, sshKey);
  currentSpec = spec;
  return requireSpec(validateSpec(spec));
}
const setWorkers = (count: number) => changeSpec(`${count}-workers`, (spec) => (spec.workers.pools[0].count = count));

async function podRanges(): Promise<Map<string, string>> {
  const out = await kubectlOk("get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.podCIDR}{\"\\n\"}{end}");
  return new Map(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

test("a worker added through the spec joins with only its own resources created; removed through the spec, it is drained, leaves the API and its machine goes; no other node's pod range moves", { timeout: 30 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  const rangesBefore = await podRanges();
  assert.equal(rangesBefore.size, 5);

  // What runs on the nodes already there must keep running: the same processes after.
  const services = async () => Promise.all(nodes.map(async (n) => `${n.name} ${(await ssh(n.address, "systemctl show -p MainPID --value kubelet containerd | tr '\\n' ' '")).stdout.trim()}`));
  const servicesBefore = await services();

  const grown = await setWorkers(3);
  const plan = await engine.plannedSteps();
  const creates = plan.steps.filter((s) => s.op === "create");
  assert.ok(creates.length > 0 && creates.every((s) => s.name.includes("worker-3")), `only worker-3's resources are created: ${creates.map((s) => s.name).join(", ")}`);
  assert.deepEqual(plan.steps.filter((s) => s.op === "delete"), [], "nothing deleted");
  // The other nodes' routes to pods and the node checks read the new node's range: those phases
  // run again. A phase with a delete (a host's reset) is never replaced.
  const rerun = plan.steps.filter((s) => s.op === "update" || s.op === "replace");
  assert.deepEqual(plan.steps.filter((s) => s.oldDelete && s.op.includes("replace")), [], "no command with a delete is replaced");
  log(`adding worker-3: ${creates.length} created; run again: ${rerun.map((s) => `${s.name} (${s.op})`).join(", ")}`);
  const up = await engine.up();
  assert.equal(up.summary.result, "succeeded");
  await waitFor("six Ready nodes", async () => (await kubectl("get", "node", "worker-3", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).stdout === "True" && (await allNodesReady()), 60, 5000);
  assert.deepEqual(await services(), servicesBefore, "kubelet and containerd kept running on every other node");
  const worker3Uid = await kubectlOk("get", "node", "worker-3", "-o", "jsonpath={.metadata.creationTimestamp} {.metadata.uid}");
  const rangesGrown = await podRanges();
  for (const [node, range] of rangesBefore) assert.equal(rangesGrown.get(node), range, `${node} keeps its pod range`);
  assert.equal(rangesGrown.get("worker-3"), planAddresses(grown).hosts.find((h) => h.name === "worker-3")!.podCIDR, "worker-3 has its planned range");

  // A workload on the new node reaches the Service (its pods on the other workers) by name.
  const edge = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "edge", namespace: "default" }, spec: { replicas: 1, selector: { matchLabels: { app: "edge" } }, template: { metadata: { labels: { app: "edge" } }, spec: { nodeSelector: { "kubernetes.io/hostname": "worker-3" }, containers: [{ name: "edge", image: TOOLBOX, command: ["sleep", "infinity"] }] } } } };
  writeFileSync(join(workDir, "edge.yaml"), stringify(edge));
  await kubectlOk("apply", "-f", join(workDir, "edge.yaml"));
  await kubectlWait(320_000, "rollout", "status", "deployment/edge", "--timeout=300s");
  // Services (cluster DNS included) answer on the new node once its kube-proxy has synced its rules.
  await kubectlWait(320_000, "-n", "kube-system", "wait", "--for=condition=Ready", "pod", "-l", "k8s-app=kube-proxy", "--field-selector", "spec.nodeName=worker-3", "--timeout=300s");
  let answer = "";
  try {
    await waitFor("the web Service from worker-3", async () => {
      answer = (await kubectl("exec", "deployment/edge", "--", "curl", "-s", "--max-time", "5", "http://web.default.svc.cluster.local/")).stdout;
      return /web-/.test(answer);
    }, 12, 5000);
  } catch (err) {
    // What the nodes route, and where the pods are, for the failure's reader.
    for (const n of nodes.filter((x) => x.name.startsWith("worker-"))) log(`${n.name} routes:\n${(await ssh(n.address, "ip route")).stdout}`);
    log(`worker-3 routes:\n${(await ssh(planAddresses(grown).hosts.find((h) => h.name === "worker-3")!.address, "ip route")).stdout}`);
    log((await kubectl("get", "pods", "-A", "-o", "wide")).stdout);
    throw err;
  }
  assert.match(answer, /web-/, "from worker-3 to the web Service's pods on other nodes, by name");

  await setWorkers(2);
  const shrink = await engine.plannedSteps();
  const deletes = shrink.steps.filter((s) => s.op === "delete");
  assert.ok(deletes.length > 0 && deletes.every((s) => s.name.includes("worker-3")), `only worker-3's resources are deleted: ${deletes.map((s) => s.name).join(", ")}`);
  assert.ok(deletes.some((s) => s.name === "local-worker-3-leave"), "worker-3 leaves (drain, node deleted) before its machine goes");
  assert.deepEqual(shrink.steps.filter((s) => s.op === "create"), [], "nothing created");
  assert.deepEqual(shrink.steps.filter((s) => s.oldDelete && s.op.includes("replace")), [], "no command with a delete is replaced");
  const down = await engine.up();
  assert.equal(down.summary.result, "succeeded");
  const left = await kubectl("get", "node", "worker-3", "-o", "jsonpath={.metadata.creationTimestamp} {.metadata.uid}");
  // Still there: the uid and creation time say whether it was never deleted or registered again.
  assert.notEqual(left.code, 0, `worker-3 left the API (still there, created ${left.stdout}; the one that joined was ${worker3Uid})`);
  assert.equal(machineRunning({ cluster: STACK, name: "worker-3" }), false, "worker-3's machine is off");
  assert.equal(existsSync(machineNames(STACK, "worker-3").dir), false, "and its disk removed");
  const edgePods = JSON.parse(await kubectlOk("get", "pods", "-l", "app=edge", "-o", "json")).items as any[];
  assert.ok(edgePods.length === 1 && !edgePods[0].spec.nodeName && edgePods[0].status.phase === "Pending", "the drain evicted edge's pod: it waits for a worker-3 that is gone");
  assert.deepEqual(await services(), servicesBefore, "and kept running through the removal");
  const rangesAfter = await podRanges();
  assert.deepEqual([...rangesAfter.entries()].sort(), [...rangesBefore.entries()].sort(), "the other nodes' ranges as before");
  await engine.preview({ expectNoChanges: true });
  await kubectlOk("delete", "deployment", "edge");
});

/** Each node's main PID of each unit, as "node unit=pid ...". */
async function mainPids(units: string[], of = nodes): Promise<Map<string, Record<string, string>>> {
  // systemctl show prints a blank line between units.
  const lines = await Promise.all(of.map(async (n) => [n.name, (await ssh(n.address, `systemctl show -p MainPID --value ${units.join(" ")}`)).stdout.split("\n").filter((l) => l.trim() !== "")] as const));
  return new Map(lines.map(([name, pids]) => [name, Object.fromEntries(units.map((u, i) => [u, pids[i] ?? ""]))]));
}

/** Runs a day-2 change while clients use the cluster: writes through the VIP, the web Service's NodePort on worker-1. */
async function underLoad<T>(label: string, change: () => Promise<T>): Promise<{ value: T; load: LoadResult }> {
  const worker = nodes.find((n) => n.name === "worker-1")!;
  const load = startLoad({ kubeconfig: readFileSync(kubeconfig, "utf8"), namespace: "default", label, serviceUrl: `http://${worker.address}:30080/`, serviceAnswer: /web-/, maxDurationMs: 25 * 60_000 });
  try {
    const value = await change();
    return { value, load: await load.stop() };
  } catch (err) {
    await load.stop();
    throw err;
  }
}

/** Every acknowledged write is there; the gaps go to the log (and docs/benchmarks.md). */
async function checkLoad(what: string, result: LoadResult, label: string): Promise<void> {
  const stored = new Set((await kubectlOk("get", "configmaps", "-l", `drydock.test/load=${label}`, "-o", "name")).trim().split("\n").map((l) => l.replace("configmap/", "")));
  const lost = result.acknowledged.filter((name) => !stored.has(name));
  log(`${what}: API writes through the VIP ${result.api.ok} acknowledged, ${result.api.failed} failed, longest gap ${(result.api.longestGapMs / 1000).toFixed(1)} s; ` +
    `Service ${result.service.ok} answered, ${result.service.failed} failed, longest gap ${(result.service.longestGapMs / 1000).toFixed(1)} s`);
  for (const f of [...result.api.failures, ...result.service.failures]) log(`  ${f}`);
  assert.deepEqual(lost, [], "every acknowledged write is stored");
  assert.ok(result.api.ok > 0 && result.service.ok > 0, "both clients ran");
  // One delete-collection request (kubectl delete -l sends one request per object).
  await kubectlOk("delete", "--raw", `/api/v1/namespaces/default/configmaps?labelSelector=drydock.test%2Fload%3D${label}`);
}

/** Each control plane's kube-apiserver (its mirror pod) started only after the previous one's was Ready. */
async function assertApiServersRestartedInOrder(): Promise<void> {
  const pods = JSON.parse(await kubectlOk("get", "pods", "-n", "kube-system", "-l", "component=kube-apiserver", "-o", "json")).items as any[];
  const times = controlPlaneNodes().map((n) => {
    const pod = pods.find((p) => p.spec.nodeName === n.name);
    assert.ok(pod, `kube-apiserver's mirror pod on ${n.name}`);
    const ready = pod.status.conditions.find((c: any) => c.type === "Ready");
    return { node: n.name, started: Date.parse(pod.status.containerStatuses[0].state.running.startedAt), ready: Date.parse(ready.lastTransitionTime) };
  });
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]!.started >= times[i - 1]!.ready, `kube-apiserver on ${times[i]!.node} started after ${times[i - 1]!.node}'s was Ready: ${JSON.stringify(times)}`);
  }
}

/** A change to what runs on the nodes, not to which nodes exist: nothing created or deleted, no host reset. */
function assertOnlyUpdates(plan: { steps: PlannedStep[] }, what: string): void {
  assert.deepEqual(plan.steps.filter((s) => s.op === "create" || s.op === "delete"), [], `${what} creates and deletes nothing`);
  assert.deepEqual(plan.steps.filter((s) => s.oldDelete && s.op.includes("replace")), [], "no command with a delete is replaced");
}

test("certificate rotation (pki.rotation) under load: every server presents its new certificate, etcd members and API servers restart one at a time in order, containerd is untouched, no acknowledged write is lost", { timeout: 30 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  const servers = [
    ...controlPlaneNodes().flatMap((n) => [
      { node: n, port: 2379, file: "/etc/kubernetes/pki/etcd/server.crt" },
      { node: n, port: 6443, file: "/etc/kubernetes/pki/apiserver.crt" },
    ]),
    ...nodes.map((n) => ({ node: n, port: 10250, file: `${KUBELET_PKI_DIR}/kubelet.crt` })),
  ];
  const served = () => Promise.all(servers.map((s) => servedFingerprint(s.node.address, s.port)));
  const before = await served();
  const pidsBefore = await mainPids(["containerd", "kubelet"]);
  const etcdBefore = await mainPids(["etcd"], controlPlaneNodes());

  await changeSpec("rotation", (spec) => (spec.pki = { ...spec.pki, rotation: (spec.pki?.rotation ?? 0) + 1 }));
  const plan = await engine.plannedSteps();
  assertOnlyUpdates(plan, "a rotation");
  log(`rotation plan: ${JSON.stringify(plan.summary)}`);

  const { value: up, load: result } = await underLoad("rotation", () => engine.up());
  assert.equal(up.summary.result, "succeeded");
  writeFileSync(kubeconfig, up.outputs.adminKubeconfig!.value as string, { mode: 0o600 });
  await checkLoad("certificate rotation", result, "rotation");

  const after = await served();
  for (const [i, s] of servers.entries()) {
    const where = `${s.node.name}:${s.port}`;
    assert.notEqual(after[i], before[i], `${where} presents a new certificate`);
    assert.equal(after[i], fingerprintOf((await ssh(s.node.address, `cat ${s.file}`)).stdout), `${where} presents the certificate on its disk`);
  }
  const pidsAfter = await mainPids(["containerd", "kubelet"]);
  for (const n of nodes) {
    assert.equal(pidsAfter.get(n.name)!.containerd, pidsBefore.get(n.name)!.containerd, `${n.name}: containerd reads no certificate: not restarted`);
    assert.notEqual(pidsAfter.get(n.name)!.kubelet, pidsBefore.get(n.name)!.kubelet, `${n.name}: the kubelet restarted on its new certificates`);
  }
  // One at a time, in member order: the monotonic clock is the host kernel's, shared by every machine.
  const etcdStarts = await Promise.all(controlPlaneNodes().map(async (n) => Number((await ssh(n.address, "systemctl show -p ExecMainStartTimestampMonotonic --value etcd")).stdout.trim())));
  const etcdAfter = await mainPids(["etcd"], controlPlaneNodes());
  for (const [i, n] of controlPlaneNodes().entries()) {
    assert.notEqual(etcdAfter.get(n.name)!.etcd, etcdBefore.get(n.name)!.etcd, `${n.name}: etcd restarted`);
    if (i > 0) assert.ok(etcdStarts[i]! > etcdStarts[i - 1]!, `etcd on ${n.name} restarted after ${controlPlaneNodes()[i - 1]!.name}'s`);
  }
  await assertApiServersRestartedInOrder();
  await waitFor("every node Ready", allNodesReady, 60, 5000);
  await engine.preview({ expectNoChanges: true });
});

test("a control-plane machine replaced (pulumi up --replace) under load: a new disk, its etcd member joins anew, its node and API server come back, no acknowledged write is lost", { timeout: 30 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  const replaced = nodes.find((n) => n.name === "cp-3")!;
  const first = controlPlaneAddress();
  const memberIds = async () => {
    const r = await ssh(first, etcdctl("member list -w json"));
    assert.equal(r.code, 0, r.stderr);
    return new Map((JSON.parse(r.stdout).members as any[]).map((m) => [m.name as string, BigInt(m.ID).toString(16)]));
  };
  const idsBefore = await memberIds();
  assert.equal(idsBefore.size, 3);
  await ssh(replaced.address, "echo old > /root/drydock-test-marker");
  const urn = await engine.urnOf(`${STACK}-${replaced.name}`);

  const plan = await engine.plannedSteps({ replace: [urn] });
  const touched = plan.steps.filter((s) => s.op !== "update" || !s.name.startsWith(`${STACK}-${replaced.name}-`));
  log(`replacing ${replaced.name}: ${plan.steps.map((s) => `${s.name} (${s.op})`).join(", ")}`);
  assert.deepEqual(plan.steps.filter((s) => s.op === "create" || s.op === "delete"), [], "only replacements and updates");
  assert.ok(touched.every((s) => s.name === `${STACK}-${replaced.name}`), `only the machine is replaced; only its own phases run again: ${touched.map((s) => `${s.name} (${s.op})`).join(", ")}`);

  const { value: up, load: result } = await underLoad("replace", () => engine.up({ replace: [urn] }));
  assert.equal(up.summary.result, "succeeded");
  await checkLoad(`${replaced.name} replaced`, result, "replace");

  assert.notEqual((await ssh(replaced.address, "cat /root/drydock-test-marker 2>&1")).stdout.trim(), "old", "the machine has a new disk");
  const idsAfter = await memberIds();
  assert.equal(idsAfter.size, 3, "three members");
  for (const n of controlPlaneNodes()) {
    if (n === replaced) assert.notEqual(idsAfter.get(n.name), idsBefore.get(n.name), `${n.name} joined etcd anew`);
    else assert.equal(idsAfter.get(n.name), idsBefore.get(n.name), `${n.name} kept its etcd membership`);
  }
  const health = await ssh(first, etcdctl("endpoint health", controlPlaneNodes().map((n) => `https://${n.address}:2379`).join(",")));
  assert.equal(health.code, 0, `every member healthy: ${health.stdout}${health.stderr}`);
  await waitFor("every node Ready", allNodesReady, 60, 5000);
  const ready = await kubectlWait(200_000, "-n", "kube-system", "wait", "--for=condition=Ready", `pod/kube-apiserver-${replaced.name}`, "--timeout=180s");
  assert.match(ready, /condition met/);
  await engine.preview({ expectNoChanges: true });
});

test(`a Kubernetes upgrade (${KUBERNETES} → ${UPGRADE_TO}) through the spec under load: control planes one at a time, workers drained one at a time, every node on the new version, no acknowledged write lost`, { timeout: 40 * 60_000 }, async () => {
  assert.ok(kubeconfig && upgradeOverrides, "needs the cluster and the new version's binaries");
  await changeSpec(`kubernetes-${UPGRADE_TO}`, (spec) => {
    spec.kubernetes = { ...spec.kubernetes, version: UPGRADE_TO };
    // As an air-gapped site would: the new version's own builds replace the old version's entries.
    spec.artifacts.overrides = [...spec.artifacts.overrides.filter((o: { name: string }) => o.name !== "kubelet" && o.name !== "kubectl"), ...upgradeOverrides!];
  });
  const plan = await engine.plannedSteps();
  assertOnlyUpdates(plan, "an upgrade");
  log(`upgrade plan: ${JSON.stringify(plan.summary)}`);

  // Which workers are cordoned, sampled through the run: drained one at a time (maxUnavailable 1).
  const workers = nodes.filter((n) => n.name.startsWith("worker-")).map((n) => n.name);
  const cordoned = new Set<string>();
  let mostAtOnce = 0;
  // kube-proxy on every node as the first worker is drained: "node image phase" lines.
  let kubeProxyAtFirstDrain: string[] | undefined;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const r = await kubectl("--request-timeout=3s", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.unschedulable}{\"\\n\"}{end}");
      const now = r.stdout.split("\n").filter((l) => l.endsWith("=true")).map((l) => l.split("=")[0]!);
      now.forEach((n) => cordoned.add(n));
      mostAtOnce = Math.max(mostAtOnce, now.filter((n) => workers.includes(n)).length);
      // Like the read above, a failed request is tried on the next sample (the drain lasts longer).
      const proxies = !kubeProxyAtFirstDrain && now.some((n) => workers.includes(n)) ? await kubectl("--request-timeout=3s", "get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy", "-o", "json") : undefined;
      if (proxies?.code === 0) {
        const pods = JSON.parse(proxies.stdout).items as any[];
        kubeProxyAtFirstDrain = pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => `${p.spec.nodeName} ${p.spec.containers[0].image.split("/").pop()} ${p.status.phase}`).sort();
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  let upgraded;
  try {
    upgraded = await underLoad("upgrade", () => engine.up());
  } finally {
    sampling = false;
    await sampler;
  }
  const { value: up, load: result } = upgraded;
  assert.equal(up.summary.result, "succeeded");
  await checkLoad(`upgrade to ${UPGRADE_TO}`, result, "upgrade");
  assert.deepEqual([...cordoned].sort(), workers, "each worker was cordoned and drained");
  assert.equal(mostAtOnce, 1, "one worker at a time");
  // Pods move only once every node's kube-proxy is the new one (none is being replaced then).
  assert.deepEqual(kubeProxyAtFirstDrain, nodes.map((n) => `${n.name} kube-proxy:v${UPGRADE_TO} Running`).sort(), "kube-proxy on every node upgraded before the first worker is drained");

  const nodeInfo = JSON.parse(await kubectlOk("get", "nodes", "-o", "json")).items as any[];
  for (const n of nodeInfo) {
    assert.equal(n.status.nodeInfo.kubeletVersion, `v${UPGRADE_TO}`, `${n.metadata.name}'s kubelet`);
    assert.notEqual(n.spec.unschedulable, true, `${n.metadata.name} uncordoned`);
  }
  const version = JSON.parse(await kubectlOk("version", "-o", "json")).serverVersion.gitVersion;
  assert.equal(version, `v${UPGRADE_TO}`, "the API servers");
  const system = JSON.parse(await kubectlOk("get", "pods", "-n", "kube-system", "-o", "json")).items as any[];
  for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
    const pods = system.filter((p) => p.metadata.name.startsWith(`${component}-`));
    assert.ok(pods.length > 0, component);
    for (const p of pods) assert.ok(p.spec.containers[0].image.endsWith(`/${component}:v${UPGRADE_TO}`) && p.status.phase === "Running", `${p.metadata.name}: ${p.spec.containers[0].image} ${p.status.phase}`);
  }
  await assertApiServersRestartedInOrder();
  await kubectlWait(320_000, "rollout", "status", "deployment/web", "--timeout=300s");
  await waitFor("every node Ready", allNodesReady, 60, 5000);
  // The next run only lets the version guard forget the old version (docs/operations.md).
  const settle = await engine.plannedSteps();
  assert.deepEqual(settle.steps.map((s) => `${s.name} (${s.op})`), [`${STACK}-versions (update)`], "after an upgrade, only the version guard changes");
  await engine.up();
  await engine.preview({ expectNoChanges: true });
});

/** Changes a booted local machine makes itself (journal, machine id, host keys) or the local backend makes (its key, resolver, bind-mount points). */
const MACHINE_OWN_CHANGES = [
  /^etc\/\.pwd\.lock$/, /^etc\/machine-id$/, /^etc\/ssh\/ssh_host_/, /^etc\/resolv\.conf$/, /^root\/\.ssh(\/authorized_keys)?$/,
  /^var\/lib\/systemd\//, /^var\/log\/journal(\/|$)/, /^var\/log\/wtmp$/, /^var\/tmp\/systemd-private-/,
  /^usr\/lib\/modules$/, /^var\/lib\/containerd$/,
];

test("reset on a worker that ran pods leaves it as provisioning found it: no process, mount, interface, rule, cgroup, kernel setting or file of the cluster's", { timeout: 10 * 60_000 }, async () => {
  assert.ok(kubeconfig, "needs the cluster");
  const worker = nodes.find((n) => n.name === "worker-2")!;
  // A pod with a volume, so the kubelet has mounts and the bridge CNI a network namespace.
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "reset-probe", namespace: "default" }, spec: { nodeName: worker.name, containers: [{ name: "c", image: TOOLBOX, command: ["sleep", "infinity"], volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] }], volumes: [{ name: "scratch", emptyDir: {} }] } };
  const podFile = join(workDir, "reset-probe.yaml");
  writeFileSync(podFile, stringify(pod));
  await kubectlOk("apply", "-f", podFile);
  await kubectlWait(150_000, "wait", "--for=condition=Ready", "pod/reset-probe", "--timeout=120s");
  const before = await ssh(worker.address, "crictl pods -q | wc -l; findmnt -rn -o TARGET | grep -cE '^(/var/lib/kubelet/|/run/containerd/|/run/netns/cni-)'; ip -o link show dev cni0 | wc -l");
  const [podsBefore, mountsBefore, bridgeBefore] = before.stdout.trim().split("\n").map(Number);
  assert.ok(podsBefore! >= 2 && mountsBefore! >= 3 && bridgeBefore === 1, `the worker runs pods, with mounts and the CNI bridge: ${before.stdout}`);
  const recorded = (await ssh(worker.address, `cat ${SYSCTL_BEFORE}`)).stdout.trim().split("\n").map((l) => l.split(" = ") as [string, string]);
  assert.ok(recorded.length >= 5, `os-prep recorded the kernel settings it changes: ${recorded.length}`);

  // The program's own reset script (what a hosts cluster runs when a host goes).
  const reset = await runAsync("ssh", [...sshOptions(), `root@${worker.address}`, "bash -s"], { input: resetScript(), timeoutMs: 180_000 });
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(reset.stderr.trim(), "", "the reset says nothing when all goes well");

  let checked = 0;
  const state = await ssh(worker.address, "ps -eo comm=; echo ::; findmnt -rn -o TARGET; echo ::; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'; echo ::; iptables-save; echo ::; find /sys/fs/cgroup -name 'kubepods*' | wc -l; echo ::; systemctl list-units --all --plain --no-legend 'kubepods*' 'containerd*' 'kubelet*' | wc -l");
  const [procs, mounts, links, rules, cgroups, units] = state.stdout.split("::\n").map((part) => part.trim());
  for (const name of procs!.split("\n")) {
    assert.doesNotMatch(name, /^(kubelet|containerd|containerd-shim|pause|kube-proxy|sleep|runc)/, `process ${name} left running`);
    checked++;
  }
  for (const target of mounts!.split("\n")) {
    assert.doesNotMatch(target, /^(\/var\/lib\/kubelet|\/run\/containerd|\/run\/netns|\/var\/lib\/containerd\/)/, `mount ${target} left`);
    checked++;
  }
  assert.deepEqual(links!.split("\n").sort(), ["eth0", "lo"], "only the machine's own interfaces");
  assert.doesNotMatch(rules!, /KUBE-|CNI-/, "no kube-proxy or CNI rule left");
  assert.doesNotMatch((await ssh(worker.address, "nft list tables")).stdout, /kube-proxy/, "no kube-proxy nftables table left");
  assert.equal(cgroups, "0", "no pod cgroup left");
  assert.equal(units, "0", "no kubelet, containerd or pod unit left");
  const after = new Map((await ssh(worker.address, `sysctl ${recorded.map(([k]) => k).join(" ")}`)).stdout.trim().split("\n").map((l) => l.split(" = ") as [string, string]));
  for (const [key, value] of recorded) {
    assert.equal(after.get(key), value, `${key} as before drydock`);
    checked++;
  }

  // Every file the machine has that its image did not: the overlay's upper layer, against the
  // image (its lower layer). Only the machine's own changes may stay; a file drydock replaced is
  // back to the image's bytes, and nothing of the image was deleted.
  const names = machineNames(STACK, worker.name);
  const image = run("findmnt", ["-n", "-o", "OPTIONS", join(names.dir, "root")]).stdout.match(/lowerdir=([^,\s]+)/)?.[1];
  assert.ok(image && existsSync(image), `the machine's image layer: ${image}`);
  const upper = join(names.dir, "upper");
  const left: string[] = [];
  for (const entry of run("find", [upper, "-mindepth", "1", "-printf", "%P\\t%y\\n"]).stdout.trim().split("\n")) {
    const [path, type] = entry.split("\t") as [string, string];
    checked++;
    if (MACHINE_OWN_CHANGES.some((re) => re.test(path))) continue;
    const original = join(image, path);
    if (type === "c") left.push(`${path} (deleted from the image)`);
    else if (!lstatSync(original, { throwIfNoEntry: false })) left.push(`${path} (new)`);
    else if (type === "f" && !readFileSync(join(upper, path)).equals(readFileSync(original))) left.push(`${path} (changed)`);
  }
  assert.deepEqual(left, [], "nothing of drydock's or the cluster's left on the worker's disk");
  assert.deepEqual(readdirSync(join(names.dir, "containerd")), [], "containerd's own disk emptied");
  log(`reset of ${worker.name} after it ran ${podsBefore} pods: ${checked} processes, mounts, settings and disk entries checked`);

  // The node is gone from the machine; remove it from the API so the rest of the run does not wait on it.
  await kubectlOk("delete", "pod", "reset-probe", "--force", "--grace-period=0");
  await kubectlOk("delete", "node", worker.name);
});

test("pulumi destroy removes the machines, the bridge and its rules, and restores the host's kernel settings", { timeout: 20 * 60_000, skip: keep || reuse ? "the cluster is kept (DRYDOCK_CLUSTER_KEEP or DRYDOCK_CLUSTER_WORKDIR)" : false }, async () => {
  const down = await engine.destroy();
  destroyed = true;
  assert.equal(down.summary.result, "succeeded");
  assert.notEqual(run("ip", ["link", "show", bridgeName(STACK)]).code, 0, "bridge removed");
  for (const name of MACHINES) {
    const names = machineNames(STACK, name);
    assert.equal(existsSync(`/run/netns/${names.netns}`), false, `${name}: network namespace removed`);
    assert.equal(existsSync(names.dir), false, `${name}: disk removed`);
    assert.equal(existsSync(`/sys/fs/cgroup/cpu/${names.cgroup}`), false, `${name}: cgroups removed`);
  }
  assert.equal(run("sh", ["-c", `iptables-save | grep -c drydock-local:${STACK}`]).stdout.trim(), "0", "no rule of ours left");
  for (const [key, value] of sysctlsBefore) assert.equal(readSysctl(key), value, `${key} restored`);
});
