// Every field of every rendered config file, every etcd and containerd key and
// every component flag must exist upstream (lists in test/fixtures/upstream).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import { requireSpec, validateSpec, loadSpecFile } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { hostsBase, FIXTURES, exampleFiles } from "../helpers";

const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, "upstream", name), "utf8"));

interface Field { path: string; goType?: string }

/** Rendered field paths not in the upstream list; map-typed fields accept any key below them. */
export function unknownFields(value: unknown, fields: readonly Field[]): string[] {
  const known = new Map(fields.map((f) => [f.path, f]));
  const isMap = (path: string) => (known.get(path)?.goType ?? "").startsWith("map[") || known.has(`${path}.*`);
  const unknown: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${path}[]`);
      return;
    }
    if (v === null || typeof v !== "object") return;
    for (const [key, child] of Object.entries(v)) {
      const p = path === "" ? key : `${path}.${key}`;
      if (!known.has(p)) {
        unknown.push(p);
        continue;
      }
      if (!isMap(p)) walk(child, p);
    }
  };
  walk(value, "");
  return unknown;
}

function allRenders() {
  const specs = exampleFiles().map((f) => requireSpec(loadSpecFile(f)));
  const ipvs = hostsBase();
  ipvs.network = { cni: "calico", proxyMode: "ipvs", ipvs: { scheduler: "wrr" } };
  ipvs.kubernetes = { featureGates: { InPlacePodVerticalScaling: true } };
  ipvs.containerd = { version: "1.7.34", registryMirrors: { "docker.io": ["https://mirror.example.com"] } };
  specs.push(requireSpec(validateSpec(ipvs)));
  return specs.map((spec) => renderCluster(spec));
}
const renders = allRenders();

function filesNamed(suffix: string): { path: string; content: string }[] {
  return renders.flatMap((r) => r.files.filter((f) => f.path.endsWith(suffix)));
}

test("KubeletConfiguration: every field exists in kubelet.config.k8s.io/v1beta1", () => {
  const upstream = fixture("kubelet-config-v1beta1.json");
  const files = filesNamed("/var/lib/kubelet/config.yaml");
  assert.ok(files.length > 10);
  for (const f of files) {
    const config = parseYaml(f.content);
    assert.equal(config.apiVersion, upstream.apiVersion);
    assert.equal(config.kind, upstream.kind);
    assert.deepEqual(unknownFields(config, upstream.fields), [], f.path);
  }
});

test("KubeSchedulerConfiguration: every field exists in kubescheduler.config.k8s.io/v1", () => {
  const upstream = fixture("kube-scheduler-config.json");
  for (const f of filesNamed("/etc/kubernetes/scheduler-config.yaml")) {
    const config = parseYaml(f.content);
    assert.equal(config.apiVersion, upstream.apiVersion);
    assert.deepEqual(unknownFields(config, upstream.fields), [], f.path);
  }
});

test("apiserver configs: Encryption, Admission (+PodSecurity), audit Policy, Authentication fields exist upstream", () => {
  const upstream = fixture("apiserver-config.json");
  const check = (suffix: string, kind: string, extract: (doc: any) => any = (d) => d) => {
    const files = filesNamed(suffix);
    assert.ok(files.length > 0, `rendered ${suffix}`);
    for (const f of files) {
      const doc = extract(parseYaml(f.content));
      assert.equal(doc.apiVersion, upstream[kind].apiVersion, `${f.path} apiVersion`);
      assert.equal(doc.kind, upstream[kind].kind ?? kind);
      assert.deepEqual(unknownFields(doc, upstream[kind].fields), [], f.path);
    }
  };
  check("/etc/kubernetes/encryption-config.yaml", "EncryptionConfiguration");
  check("/etc/kubernetes/admission-config.yaml", "AdmissionConfiguration", (d) => ({ ...d, plugins: d.plugins.map((p: any) => ({ name: p.name })) }));
  check("/etc/kubernetes/admission-config.yaml", "PodSecurityConfiguration", (d) => d.plugins.find((p: any) => p.name === "PodSecurity").configuration);
  check("/etc/kubernetes/audit-policy.yaml", "AuditPolicy");
  check("/etc/kubernetes/authentication-config.yaml", "AuthenticationConfiguration");
  // Enumerated values too: audit levels.
  for (const f of filesNamed("/etc/kubernetes/audit-policy.yaml")) {
    for (const rule of parseYaml(f.content).rules) assert.ok(upstream.enums["audit.k8s.io/v1"].Level.includes(rule.level), rule.level);
  }
});

test("etcd: every key of every member config exists in etcd 3.5/3.6", () => {
  const upstream = fixture("etcd-config.json");
  const keys = new Set<string>([...upstream.configFileKeys.map((k: any) => k.key), ...upstream["v3.6Comparison"]["configKeysAddedIn3.6"]]);
  const files = filesNamed("/etc/etcd/etcd.conf.yml");
  assert.ok(files.length >= 7);
  for (const f of files) {
    const config = parseYaml(f.content);
    for (const [key, value] of Object.entries(config)) {
      assert.ok(keys.has(key), `${f.path}: ${key}`);
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const sub of Object.keys(value)) assert.ok(keys.has(`${key}.${sub}`), `${f.path}: ${key}.${sub}`);
      }
    }
  }
});

/** TOML table paths in the upstream notation: plugins."x".containerd.runtimes.<name>.runtime_type */
function containerdKeys(doc: Record<string, any>): string[] {
  const out: string[] = [];
  const walk = (v: any, path: string[]) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      // Plugin names contain dots: quote them as the reference does.
      for (const [k, child] of Object.entries(v)) walk(child, [...path, path.length === 1 && path[0] === "plugins" ? `"${k}"` : k]);
    } else out.push(path.join("."));
  };
  walk(doc, []);
  return out.map((k) => k.replace(/\.runtimes\.[^.]+\./, ".runtimes.<name>."));
}

test("containerd: every key of both config versions exists in that version's reference", () => {
  const upstream = fixture("containerd-config.json");
  let checked = { 2: 0, 3: 0 };
  for (const f of filesNamed("/etc/containerd/config.toml")) {
    const doc = parseToml(f.content) as Record<string, any>;
    const version = doc.version as 2 | 3;
    const ref = upstream[`version${version}`];
    const lists = version === 3 ? [ref.topLevelKeys, ref.runtimePluginKeys, ref.imagesPluginKeys, ref.serverPluginKeys] : [ref.topLevelKeys, ref.criPluginKeys];
    const known = new Set<string>(lists.flat().map((k: any) => k.key));
    const runc = new Set<string>(ref.runcOptions.map((o: any) => o.key ?? o.name ?? o));
    for (const key of containerdKeys(doc)) {
      const options = /\.runtimes\.<name>\.options\.([^.]+)$/.exec(key);
      if (options) {
        assert.ok(runc.has(options[1]!), `${f.path}: runc option ${options[1]}`);
        continue;
      }
      const map = [...known].some((k) => key.startsWith(`${k}.`) && /pinned_images$/.test(k));
      assert.ok(known.has(key) || map, `${f.path} (version ${version}): ${key}`);
    }
    checked[version]++;
  }
  assert.ok(checked[2] > 0 && checked[3] > 0, `both versions rendered: ${JSON.stringify(checked)}`);
});

/** --flag=value or --flag from a command line. */
const flagNames = (args: readonly string[]) => args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]!);

test("every flag on every control-plane command line and kubelet unit exists upstream", () => {
  const components = fixture("component-flags.json").components;
  // Counted per kind: a check that matched no file of a kind must fail, not pass on another kind.
  const checked: Record<string, number> = { "kube-apiserver": 0, "kube-controller-manager": 0, "kube-scheduler": 0, kubelet: 0 };
  // Static pods are staged here, then installed into /etc/kubernetes/manifests by a step.
  const pods = filesNamed(".yaml").filter((f) => f.path.includes("/etc/kubernetes/drydock/static-pods/"));
  for (const f of pods) {
    const pod = parseYaml(f.content);
    for (const container of pod.spec.containers) {
      const [binary, ...args] = container.command;
      assert.ok(binary in checked, `${f.path}: unexpected command ${binary}`);
      const known = new Set(components[binary].flagNames);
      const flags = flagNames(args);
      assert.ok(flags.length > 3, `${f.path}: ${binary} has flags`);
      for (const flag of flags) assert.ok(known.has(flag), `${f.path}: ${binary} --${flag}`);
      checked[binary]!++;
    }
  }
  const kubelet = new Set(components.kubelet.flagNames);
  for (const f of filesNamed("/etc/systemd/system/kubelet.service")) {
    const exec = f.content.replace(/\\\n\s*/g, " ").match(/^ExecStart=(.*)$/m)![1]!.split(/\s+/);
    for (const flag of flagNames(exec)) assert.ok(kubelet.has(flag), `${f.path}: kubelet --${flag}`);
    checked.kubelet!++;
  }
  const controlPlanes = pods.length / 3;
  assert.ok(controlPlanes >= 3, `control-plane pod files: ${pods.length}`);
  for (const kind of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
    assert.equal(checked[kind], controlPlanes, `${kind}: one per control plane (${JSON.stringify(checked)})`);
  }
  assert.ok(checked.kubelet! >= controlPlanes, `kubelet units: ${checked.kubelet}`);
});

test("KubeProxyConfiguration (every mode): every field exists in kubeproxy.config.k8s.io/v1alpha1", () => {
  const upstream = fixture("kube-proxy-config-v1alpha1.json");
  const modes = new Set<string>();
  for (const proxyMode of ["iptables", "ipvs", "nftables"]) {
    const input = hostsBase();
    input.network = { cni: "flannel", proxyMode, ...(proxyMode === "ipvs" ? { ipvs: { scheduler: "sh" } } : {}) };
    input.kubernetes = { featureGates: { SomeGate: true } };
    const tree = renderCluster(requireSpec(validateSpec(input)));
    const manifest = tree.files.find((f) => f.path === "cluster/manifests/20-kube-proxy.yaml")!.content;
    const configMap = manifest.split("---\n").map((d) => parseYaml(d)).find((o) => o.kind === "ConfigMap");
    const config = parseYaml(configMap.data["config.conf"]);
    assert.equal(config.apiVersion, upstream.apiVersion);
    assert.ok(upstream.modes.linux.includes(config.mode));
    assert.deepEqual(unknownFields(config, upstream.fields), [], proxyMode);
    modes.add(config.mode);
  }
  assert.deepEqual([...modes].sort(), ["iptables", "ipvs", "nftables"]);
});
