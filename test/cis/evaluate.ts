// Judges CIS Kubernetes Benchmark checks (kube-bench's data, copied into the
// fixtures) against a rendered tree: flags from static pods and units, fields
// from config files, modes and owners of files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { RenderedTree } from "../../hosts/render";
import { FIXTURES } from "../helpers";
import { CONTROL_PLANE_COMPONENTS, installedManifest, stagedManifest, STATIC_POD_MODE, STATIC_POD_OWNER } from "../../hosts/control-plane";

export interface CisTest {
  readonly flag?: string | null;
  readonly path?: string | null;
  readonly op?: string | null;
  readonly value?: unknown;
  readonly set?: boolean | null;
}

export interface CisCheck extends CisTest {
  readonly id: string;
  readonly text: string;
  readonly component: string | null;
  readonly automated: boolean;
  readonly checkType: string;
  readonly group: string;
  readonly groupText: string;
  readonly file: string;
  readonly tests?: readonly CisTest[];
  readonly bin_op?: "and" | "or" | null;
}

export const BENCHMARK = "cis-1.12";

export function cisChecks(): CisCheck[] {
  const data = JSON.parse(readFileSync(join(FIXTURES, "upstream", "cis-checks.json"), "utf8"));
  return data.benchmarks[BENCHMARK].checks;
}

export interface Verdict {
  readonly pass: boolean;
  /** False when this render has nothing the check is about (no kube-proxy, a CNI that writes its own files). */
  readonly applicable?: boolean;
  /** Where it was judged, and what failed. */
  readonly detail: string;
}

type Flags = Map<string, string>;

function commandFlags(args: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (const a of args) {
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    flags.set(eq < 0 ? a : a.slice(0, eq), eq < 0 ? "true" : a.slice(eq + 1));
  }
  return flags;
}

/** "{.authentication.anonymous.enabled}" -> value in the object, or undefined. */
function jsonPath(obj: unknown, path: string): unknown {
  const inner = /^\{\.(.+)\}$/.exec(path)?.[1];
  if (!inner || inner.includes("range")) {
    const list = /^\{range \.([A-Za-z]+)\[:\]\}/.exec(path)?.[1];
    if (list) return Array.isArray((obj as any)?.[list]) ? (obj as any)[list].join(",") : undefined;
    return undefined;
  }
  return inner.split(".").reduce<any>((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

/** etcd runs from a config file: the flag a check names, as its config key. */
const ETCD_KEYS: Record<string, string> = {
  "--cert-file": "client-transport-security.cert-file",
  "--key-file": "client-transport-security.key-file",
  "--client-cert-auth": "client-transport-security.client-cert-auth",
  "--auto-tls": "client-transport-security.auto-tls",
  "--trusted-ca-file": "client-transport-security.trusted-ca-file",
  "--peer-cert-file": "peer-transport-security.cert-file",
  "--peer-key-file": "peer-transport-security.key-file",
  "--peer-client-cert-auth": "peer-transport-security.client-cert-auth",
  "--peer-auto-tls": "peer-transport-security.auto-tls",
};

function judge(test: CisTest, actual: string | undefined): boolean {
  if (test.set === false && !test.op) return actual === undefined;
  if (actual === undefined) return false;
  if (!test.op) return true;
  const want = String(test.value);
  const norm = (v: string) => v.toLowerCase();
  switch (test.op) {
    case "eq":
      return norm(actual) === norm(want);
    case "noteq":
      return norm(actual) !== norm(want);
    case "gte":
      return Number(actual) >= Number(want);
    case "gt":
      return Number(actual) > Number(want);
    case "lte":
      return Number(actual) <= Number(want);
    case "lt":
      return Number(actual) < Number(want);
    case "has":
      return actual.includes(want);
    case "nothave":
      return !actual.includes(want);
    case "valid_elements": {
      const allowed = new Set(want.split(","));
      return actual.split(",").every((e) => allowed.has(e));
    }
    case "bitmask":
      return (parseInt(actual, 8) & ~parseInt(want, 8)) === 0;
    default:
      throw new Error(`unknown op ${test.op}`);
  }
}

function combine(check: CisCheck, lookup: (t: CisTest) => string | undefined): boolean {
  const tests = check.tests && check.tests.length > 0 ? check.tests : [check];
  const results = tests.map((t) => judge(t, lookup(t)));
  return check.bin_op === "or" ? results.some(Boolean) : results.every(Boolean);
}

export interface RenderedFileView {
  readonly host: string;
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly content: string;
}

export function fileViews(tree: RenderedTree): RenderedFileView[] {
  const views: RenderedFileView[] = [];
  for (const host of tree.plan.hosts) {
    for (const f of host.files) {
      const content = tree.files.find((r) => r.path === `hosts/${host.name}${f.path}`)?.content ?? "";
      views.push({ host: host.name, path: f.path, mode: f.mode, owner: f.owner, content });
      // A staged static pod is judged where the control-plane-pods step installs it, with the mode and owner it sets.
      const component = CONTROL_PLANE_COMPONENTS.find((c) => stagedManifest(c) === f.path);
      if (component) views.push({ host: host.name, path: installedManifest(component), mode: STATIC_POD_MODE.toString(8).padStart(4, "0"), owner: STATIC_POD_OWNER, content });
    }
  }
  return views;
}

/** Which rendered files a file-permission or ownership check is about. */
const FILE_TARGETS: Record<string, (f: RenderedFileView) => boolean> = {
  "1.1.1": (f) => f.path === "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "1.1.2": (f) => f.path === "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "1.1.3": (f) => f.path === "/etc/kubernetes/manifests/kube-controller-manager.yaml",
  "1.1.4": (f) => f.path === "/etc/kubernetes/manifests/kube-controller-manager.yaml",
  "1.1.5": (f) => f.path === "/etc/kubernetes/manifests/kube-scheduler.yaml",
  "1.1.6": (f) => f.path === "/etc/kubernetes/manifests/kube-scheduler.yaml",
  // etcd runs under systemd from its config file: that file is its "pod specification".
  "1.1.7": (f) => f.path === "/etc/etcd/etcd.conf.yml",
  "1.1.8": (f) => f.path === "/etc/etcd/etcd.conf.yml",
  "1.1.9": (f) => f.path.startsWith("/etc/cni/net.d/"),
  "1.1.10": (f) => f.path.startsWith("/etc/cni/net.d/"),
  "1.1.13": (f) => f.path === "/etc/kubernetes/admin.conf",
  "1.1.14": (f) => f.path === "/etc/kubernetes/admin.conf",
  "1.1.15": (f) => f.path === "/etc/kubernetes/scheduler.conf",
  "1.1.16": (f) => f.path === "/etc/kubernetes/scheduler.conf",
  "1.1.17": (f) => f.path === "/etc/kubernetes/controller-manager.conf",
  "1.1.18": (f) => f.path === "/etc/kubernetes/controller-manager.conf",
  "1.1.19": (f) => f.path.startsWith("/etc/kubernetes/pki/"),
  "1.1.20": (f) => f.path.startsWith("/etc/kubernetes/pki/") && f.path.endsWith(".crt"),
  "1.1.21": (f) => f.path.startsWith("/etc/kubernetes/pki/") && f.path.endsWith(".key"),
  "4.1.1": (f) => f.path === "/etc/systemd/system/kubelet.service",
  "4.1.2": (f) => f.path === "/etc/systemd/system/kubelet.service",
  "4.1.5": (f) => f.path === "/etc/kubernetes/kubelet.conf",
  "4.1.6": (f) => f.path === "/etc/kubernetes/kubelet.conf",
  "4.1.7": (f) => f.path === "/etc/kubernetes/pki/ca.crt",
  "4.1.8": (f) => f.path === "/etc/kubernetes/pki/ca.crt",
  "4.1.9": (f) => f.path === "/var/lib/kubelet/config.yaml",
  "4.1.10": (f) => f.path === "/var/lib/kubelet/config.yaml",
};

/** Checks judged by reading configuration the flag-based data does not describe. */
const CUSTOM: Record<string, (tree: RenderedTree, files: RenderedFileView[]) => Verdict> = {
  // --anonymous-auth cannot be combined with --authentication-config: anonymous
  // requests are limited to health endpoints there instead.
  "1.2.1": (_tree, files) => {
    const pods = files.filter((f) => f.path === "/etc/kubernetes/manifests/kube-apiserver.yaml");
    const configs = files.filter((f) => f.path === "/etc/kubernetes/authentication-config.yaml").map((f) => parse(f.content));
    const flagsOk = pods.length > 0 && pods.every((f) => {
      const flags = commandFlags(parse(f.content).spec.containers[0].command);
      return !flags.has("--anonymous-auth") && flags.get("--authentication-config") === "/etc/kubernetes/authentication-config.yaml";
    });
    const paths = (c: any) => (c.anonymous?.conditions ?? []).map((x: any) => x.path).sort().join(",");
    const configOk = configs.length > 0 && configs.every((c) => c.anonymous?.enabled === true && paths(c) === "/healthz,/livez,/readyz");
    return { pass: flagsOk && configOk, detail: "anonymous only for /livez, /readyz, /healthz (AuthenticationConfiguration)" };
  },
  // kube-scheduler ignores its deprecated --profiling flag when --config is given:
  // profiling is judged in the KubeSchedulerConfiguration it reads.
  "1.4.1": (_tree, files) => {
    const pods = files.filter((f) => f.path === "/etc/kubernetes/manifests/kube-scheduler.yaml");
    const configs = files.filter((f) => f.path === "/etc/kubernetes/scheduler-config.yaml").map((f) => parse(f.content));
    const ok =
      pods.length > 0 &&
      pods.every((f) => {
        const flags = commandFlags(parse(f.content).spec.containers[0].command);
        return flags.get("--config") === "/etc/kubernetes/scheduler-config.yaml" && flags.get("--profiling") !== "true";
      }) &&
      configs.length === pods.length &&
      configs.every((c) => c.enableProfiling === false);
    return { pass: ok, detail: "enableProfiling: false in the KubeSchedulerConfiguration" };
  },
  "1.1.11": (_tree, files) => {
    const scripts = files.filter((f) => f.path.endsWith("/steps/etcd-start.sh"));
    const ok = scripts.length > 0 && scripts.every((f) => /install -d -m 0700 \/var\/lib\/etcd/.test(f.content));
    return { pass: ok, detail: `etcd-start creates the data dir 0700 on ${scripts.length} members` };
  },
  "1.2.28": (_tree, files) => {
    const configs = files.filter((f) => f.path === "/etc/kubernetes/encryption-config.yaml");
    const ok =
      configs.length > 0 &&
      configs.every((f) => {
        const providers = parse(f.content).resources.flatMap((r: any) => r.providers.map((p: any) => Object.keys(p)[0]));
        return providers[0] !== "identity" && providers.filter((p: string) => p !== "identity").every((p: string) => ["aescbc", "kms", "secretbox"].includes(p));
      });
    return { pass: ok, detail: `encryption providers in ${configs.length} configs` };
  },
  "2.7": (_tree, files) => {
    const etcdCa = files.find((f) => f.path === "/etc/kubernetes/pki/etcd/ca.crt")?.content;
    const clusterCa = files.find((f) => f.path === "/etc/kubernetes/pki/ca.crt")?.content;
    const configs = files.filter((f) => f.path === "/etc/etcd/etcd.conf.yml").map((f) => parse(f.content));
    const ok = !!etcdCa && etcdCa !== clusterCa && configs.length > 0 && configs.every((c) => c["client-transport-security"]["trusted-ca-file"] === "/etc/kubernetes/pki/etcd/ca.crt");
    return { pass: ok, detail: "etcd trusts its own CA, distinct from the cluster CA" };
  },
};

export function evaluate(check: CisCheck, tree: RenderedTree): Verdict {
  const files = fileViews(tree);
  const custom = CUSTOM[check.id];
  if (custom) return custom(tree, files);

  const fileTarget = FILE_TARGETS[check.id];
  if (fileTarget) {
    const targets = files.filter(fileTarget);
    if (targets.length === 0 && (check.id === "1.1.9" || check.id === "1.1.10") && !tree.plan.network.cni.startsWith("bridge")) {
      return { pass: true, applicable: false, detail: `${tree.plan.network.cni} writes its own CNI files` };
    }
    if (targets.length === 0) return { pass: false, detail: "no rendered file to judge" };
    const failed = targets.filter((f) => {
      if (check.checkType === "file-permissions") return !judge({ op: "bitmask", value: check.value }, f.mode);
      const owner = check.flag === "ownership" ? String(check.value) : String(check.flag);
      return f.owner !== owner;
    });
    return { pass: failed.length === 0, detail: failed.length ? failed.map((f) => `${f.host}:${f.path} ${f.mode} ${f.owner}`).join("; ") : `${targets.length} files` };
  }

  if (check.checkType !== "flag" && check.checkType !== "other") return { pass: false, detail: `cannot judge ${check.checkType} from configuration` };
  const component = check.component;
  const failures: string[] = [];
  let judged = 0;
  const judgeOn = (where: string, lookup: (t: CisTest) => string | undefined) => {
    judged++;
    if (!combine(check, lookup)) failures.push(where);
  };

  if (component === "kube-apiserver" || component === "kube-controller-manager" || component === "kube-scheduler") {
    for (const f of files.filter((f) => f.path === `/etc/kubernetes/manifests/${component}.yaml`)) {
      const flags = commandFlags(parse(f.content).spec.containers[0].command);
      judgeOn(`${f.host}:${component}`, (t) => (t.flag ? flags.get(t.flag) : undefined));
    }
  } else if (component === "etcd") {
    for (const f of files.filter((f) => f.path === "/etc/etcd/etcd.conf.yml")) {
      const config = parse(f.content);
      judgeOn(`${f.host}:etcd`, (t) => {
        const key = t.flag ? ETCD_KEYS[t.flag] : undefined;
        const value = key?.split(".").reduce<any>((o, k) => o?.[k], config);
        return value === undefined ? undefined : String(value);
      });
    }
  } else if (component === "kubelet") {
    for (const f of files.filter((f) => f.path === "/var/lib/kubelet/config.yaml")) {
      const config = parse(f.content);
      const unit = files.find((u) => u.host === f.host && u.path === "/etc/systemd/system/kubelet.service")!.content;
      const flags = commandFlags(unit.replace(/\\\n\s*/g, " ").match(/^ExecStart=(.*)$/m)![1]!.split(/\s+/));
      judgeOn(`${f.host}:kubelet`, (t) => {
        if (t.flag && flags.has(t.flag)) return flags.get(t.flag);
        const value = t.path ? jsonPath(config, t.path) : undefined;
        return value === undefined || value === null ? undefined : String(value);
      });
    }
  } else if (component === "kube-proxy") {
    const manifest = tree.files.find((f) => f.path === "cluster/manifests/20-kube-proxy.yaml");
    if (!manifest) return { pass: true, applicable: false, detail: "no kube-proxy (proxyMode none)" };
    const configMap = parseAllDocuments(manifest.content).map((d) => d.toJS()).find((o) => o.kind === "ConfigMap");
    const config = parse(configMap.data["config.conf"]);
    judgeOn("kube-proxy", (t) => {
      const value = t.path ? jsonPath(config, t.path) : undefined;
      return value === undefined ? undefined : String(value);
    });
  } else {
    return { pass: false, detail: `no evaluator for component ${component}` };
  }
  if (judged === 0) return { pass: false, detail: `no ${component} rendered` };
  return { pass: failures.length === 0, detail: failures.length ? `fails on ${failures.join(", ")}` : `${judged} places` };
}
