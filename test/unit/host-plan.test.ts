import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { certificateInventory } from "../../pki/inventory";
import { issuePki } from "../../pki/issue";
import { renderCluster } from "../../hosts/render";
import { sequentialStages } from "../../hosts/stages";
import { CNIS, PROXY_MODES } from "../../spec/schema";
import { awsBase, EXAMPLES_DIR, hostsBase } from "../helpers";

const example = (name: string) => requireSpec(loadSpecFile(join(EXAMPLES_DIR, name)));

test("steps: etcd quorum, then control planes, then workers; manifests after every API server", () => {
  const { plan } = renderCluster(example("hosts-ha.yaml"));
  const step = (id: string) => plan.steps.find((s) => s.id === id)!;
  const cps = ["cp-1", "cp-2", "cp-3"];
  for (const cp of cps) {
    assert.deepEqual([...step(`${cp}/etcd-healthy`).dependsOn].sort(), cps.map((c) => `${c}/etcd-start`));
    for (const other of cps) assert.ok(step(`${cp}/kubelet-start`).dependsOn.includes(`${other}/etcd-healthy`), `${cp} kubelet waits for ${other}'s etcd`);
  }
  for (const w of ["w-1", "w-2"]) {
    const deps = step(`${w}/kubelet-start`).dependsOn;
    for (const cp of cps) assert.ok(deps.includes(`${cp}/apiserver-ready`), `no kubelet on ${w} before ${cp}'s /readyz`);
    assert.ok(!deps.some((d) => d.startsWith("w-") && !d.startsWith(`${w}/`)), "workers are independent of each other");
  }
  assert.deepEqual([...step("cp-1/cluster-manifests").dependsOn].sort(), cps.map((c) => `${c}/apiserver-ready`));
  // Static pods go in place one control plane at a time: kubelet, pods, /readyz, then the next.
  cps.forEach((cp, i) => {
    if (i > 0) assert.ok(step(`${cp}/kubelet-start`).dependsOn.includes(`${cps[i - 1]}/apiserver-ready`));
    assert.deepEqual(step(`${cp}/control-plane-pods`).dependsOn, [`${cp}/kubelet-start`]);
    assert.deepEqual(step(`${cp}/apiserver-ready`).dependsOn, [`${cp}/control-plane-pods`]);
    const triggers = step(`${cp}/control-plane-pods`).triggers;
    for (const f of ["/etc/kubernetes/pki/apiserver-etcd-client.crt", "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf", "/etc/kubernetes/drydock/static-pods/kube-apiserver.yaml"]) {
      assert.ok(triggers.includes(f), `${cp}: control-plane-pods re-runs when ${f} changes`);
    }
  });
  // The file bundle (sent to every control plane at once) never writes into the kubelet's manifest directory.
  for (const h of plan.hosts) assert.ok(!h.files.some((f) => f.path.startsWith("/etc/kubernetes/manifests/")), `${h.name} receives no live static pod manifest`);
  const ready = step("cp-1/nodes-ready").dependsOn;
  for (const h of [...cps, "w-1", "w-2"]) assert.ok(ready.includes(`${h}/kubelet-start`));
  // Every dependency is a planned step, and every step's script is one of its host's files.
  const ids = new Set(plan.steps.map((s) => s.id));
  for (const s of plan.steps) {
    for (const d of s.dependsOn) assert.ok(ids.has(d), `${s.id} depends on unplanned ${d}`);
    const host = plan.hosts.find((h) => h.name === s.host)!;
    assert.ok(host.files.some((f) => f.path === s.script && f.mode === "0755"), `${s.id} script shipped`);
  }
});

test("sequential stages do not grow with the number of workers (3 vs 300)", () => {
  const stages = (workers: number) => {
    const input = awsBase();
    input.kubernetes = { podCIDR: "10.128.0.0/14" };
    input.workers = { pools: [{ name: "general", count: workers }] };
    return sequentialStages(renderCluster(requireSpec(validateSpec(input))).plan.steps);
  };
  const few = stages(3);
  assert.ok(few >= 6, `a real bring-up chain (${few})`);
  assert.equal(stages(300), few);
});

test("rendering is deterministic: the same spec and PKI material give byte-identical trees", () => {
  const spec = example("hosts-bridge.yaml");
  const addresses = planAddresses(spec);
  const material = issuePki(certificateInventory(spec, addresses), "api.bare.example.com");
  const a = renderCluster(spec, { material });
  const b = renderCluster(spec, { material });
  assert.deepEqual(a.files, b.files);
});

function render(cni: string, proxyMode: string, extra: (s: Record<string, any>) => void = () => {}) {
  const input = hostsBase();
  input.network = { cni, proxyMode };
  extra(input);
  return renderCluster(requireSpec(validateSpec(input)));
}

function file(tree: ReturnType<typeof render>, path: string): string | undefined {
  return tree.files.find((f) => f.path === path)?.content;
}

for (const cni of CNIS) {
  for (const proxyMode of PROXY_MODES) {
    const valid = proxyMode !== "none" || cni === "cilium";
    test(`${cni} × ${proxyMode}: ${valid ? "renders what the pair needs" : "is rejected by the spec"}`, () => {
      if (!valid) {
        const input = hostsBase();
        input.network = { cni, proxyMode };
        const result = validateSpec(input);
        assert.equal(result.ok, false);
        return;
      }
      const tree = render(cni, proxyMode);
      const kubeProxy = file(tree, "cluster/manifests/20-kube-proxy.yaml");
      const manifestsStep = file(tree, "hosts/cp-1/usr/local/lib/drydock/steps/cluster-manifests.sh")!;
      const waitsForKubeProxy = /rollout status daemonset\/kube-proxy --timeout=300s/.test(manifestsStep);
      if (proxyMode === "none") {
        assert.equal(kubeProxy, undefined, "no kube-proxy with proxyMode none");
        assert.equal(waitsForKubeProxy, false, "and no wait for it");
      } else {
        assert.ok(waitsForKubeProxy, "the manifests step ends once kube-proxy has rolled out to every node");
        const daemonSet = parse(kubeProxy!.split("---\n").find((d) => d.includes("kind: DaemonSet"))!);
        assert.equal(daemonSet.spec.minReadySeconds, 5, "each new kube-proxy gets time to sync before the next node's is replaced");
        assert.equal(daemonSet.spec.updateStrategy.rollingUpdate.maxUnavailable, "10%", "a tenth of the nodes at a time");
        const config = parse(parse(kubeProxy!.split("---\n").find((d) => d.includes("kind: ConfigMap"))!).data["config.conf"]);
        assert.equal(config.mode, proxyMode);
        assert.equal(config.clusterCIDR, "10.244.0.0/16");
        assert.equal(config.metricsBindAddress, "127.0.0.1:10249");
        if (proxyMode === "ipvs") assert.deepEqual(config.ipvs, { scheduler: "rr", strictARP: true });
      }
      const modules = file(tree, "hosts/w-1/etc/modules-load.d/drydock.conf")!;
      assert.equal(modules.includes("ip_vs_rr"), proxyMode === "ipvs");
      assert.equal(modules.includes("nf_tables"), proxyMode === "nftables");
      assert.ok(modules.includes("br_netfilter"));
      const cm = parse(file(tree, "hosts/cp-1/etc/kubernetes/drydock/static-pods/kube-controller-manager.yaml")!).spec.containers[0].command as string[];
      assert.equal(cm.includes("--allocate-node-cidrs=true"), cni !== "bridge");
      const refs = JSON.parse(file(tree, "cluster/references.json")!);
      switch (cni) {
        case "bridge": {
          const conflist = JSON.parse(file(tree, "hosts/w-1/etc/cni/net.d/10-drydock-bridge.conflist")!);
          assert.equal(conflist.plugins[0].ipam.ranges[0][0].subnet, tree.plan.hosts.find((h) => h.name === "w-1")!.podCIDR);
          assert.match(file(tree, "hosts/w-1/usr/local/lib/drydock/pod-routes.sh")!, /ip route replace 10\.244\.0\.0\/24 via 192\.168\.10\.11/);
          assert.deepEqual(refs, []);
          break;
        }
        case "flannel": {
          const cfg = parse(file(tree, "cluster/manifests/10-cni-flannel.yaml")!.split("---\n").find((d) => d.includes("kube-flannel-cfg"))!);
          assert.equal(JSON.parse(cfg.data["net-conf.json"]).Network, "10.244.0.0/16");
          assert.equal(JSON.parse(cfg.data["net-conf.json"]).EnableNFTables, proxyMode === "nftables");
          break;
        }
        case "calico": {
          const installation = parse(file(tree, "cluster/manifests/10-cni-calico.yaml")!);
          assert.equal(installation.spec.calicoNetwork.ipPools[0].cidr, "10.244.0.0/16");
          assert.deepEqual(refs.map((r: any) => [r.name, r.version]), [["calico-crds", "3.31.7"], ["calico-operator", "3.31.7"]], "the CRDs before the operator");
          assert.ok(tree.plan.steps.some((s) => s.id === "cp-1/cni-upstream"));
          break;
        }
        case "cilium": {
          const values = parse(file(tree, "cluster/helm/cilium-values.yaml")!);
          assert.equal(values.kubeProxyReplacement, proxyMode === "none");
          assert.equal(values.ipam.mode, "kubernetes");
          if (proxyMode === "none") assert.equal(values.k8sServiceHost, "192.168.10.100");
          assert.deepEqual(refs.map((r: any) => [r.name, r.version, r.kind, r.release]), [["cilium-chart", "1.20.1", "helm-chart", "cilium"]]);
          break;
        }
      }
      assert.equal(file(tree, "hosts/w-1/etc/cni/net.d/10-drydock-bridge.conflist") !== undefined, cni === "bridge");
    });
  }
}

test("both etcd topologies render members where they belong", () => {
  const stacked = renderCluster(example("hosts-ha.yaml"));
  assert.ok(stacked.files.some((f) => f.path === "hosts/cp-2/etc/etcd/etcd.conf.yml"));
  const external = renderCluster(example("aws-ha.yaml"));
  assert.ok(external.files.some((f) => f.path === "hosts/etcd-2/etc/etcd/etcd.conf.yml"));
  assert.ok(!external.files.some((f) => f.path === "hosts/cp-2/etc/etcd/etcd.conf.yml"));
  const apiserver = parse(external.files.find((f) => f.path === "hosts/cp-1/etc/kubernetes/drydock/static-pods/kube-apiserver.yaml")!.content);
  const etcdServers = (apiserver.spec.containers[0].command as string[]).find((a) => a.startsWith("--etcd-servers="))!;
  assert.equal(etcdServers, "--etcd-servers=https://10.0.0.8:2379,https://10.0.16.8:2379,https://10.0.32.8:2379");
});

test("control-plane kubelets register with the control-plane taint; pool taints and labels reach workers", () => {
  const spec = example("aws-stacked-calico-ipvs.yaml");
  const tree = renderCluster(spec);
  const kubelet = (host: string) => parse(tree.files.find((f) => f.path === `hosts/${host}/var/lib/kubelet/config.yaml`)!.content);
  assert.deepEqual(kubelet("cp-1").registerWithTaints, [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);
  assert.deepEqual(kubelet("gpu-1").registerWithTaints, [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
  assert.equal(kubelet("general-1").registerWithTaints, undefined);
  const unit = tree.files.find((f) => f.path === "hosts/gpu-2/etc/systemd/system/kubelet.service")!.content;
  assert.match(unit, /--node-labels=drydock\.dev\/pool=gpu,drydock\.dev\/accelerator=nvidia/);
  // Single-host labs: the control plane is also a worker, so no taint.
  assert.equal(parse(renderCluster(example("minimal.yaml")).files.find((f) => f.path === "hosts/solo/var/lib/kubelet/config.yaml")!.content).registerWithTaints, undefined);
});

test("containerd: config version 3 for 2.x, version 2 for 1.7; pause image per Kubernetes minor", () => {
  const config = (containerd: string, kubernetes: string) => {
    const input = hostsBase();
    input.containerd = { version: containerd };
    input.kubernetes = { version: kubernetes };
    return renderCluster(requireSpec(validateSpec(input))).files.find((f) => f.path === "hosts/w-1/etc/containerd/config.toml")!.content;
  };
  const v3 = config("2.3.4", "1.36.4");
  assert.match(v3, /^version = 3$/m);
  assert.match(v3, /sandbox = "registry\.k8s\.io\/pause:3\.10\.2"/);
  assert.match(v3, /bin_dirs = \[ "\/opt\/cni\/bin" \]/);
  assert.match(config("2.0.11", "1.35.8"), /bin_dir = "\/opt\/cni\/bin"/);
  const v2 = config("1.7.34", "1.34.11");
  assert.match(v2, /^version = 2$/m);
  assert.match(v2, /sandbox_image = "registry\.k8s\.io\/pause:3\.10\.1"/);
});

