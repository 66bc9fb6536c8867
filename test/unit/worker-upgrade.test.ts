// The worker upgrade scripts, run with bash against a kubectl stand-in that keeps
// one node's state in files: cordon and drain mark only nodes drydock cordoned,
// uncordon touches only those, and an API that does not answer is never taken for
// a node that is not there. The first control plane's step record says a control
// plane has run there (as on a host whose control-plane-pods step succeeded).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_READ_ATTEMPTS, cordonDrainScript, removeNodeScript, uncordonScript } from "../../hosts/worker-upgrade";

const SERVER = "https://127.0.0.1:6443";

type Run = (script: string) => { code: number | null; calls: string[]; stderr: string };

/** The stand-in API fails this many calls (as a restarting or overloaded server does) before it answers. */
const apiDownFor = (state: string, calls: number) => writeFileSync(`${state}.down`, String(calls));

function withNode(fn: (run: Run, state: string, steps: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "drydock-upgrade-"));
  try {
    const steps = join(dir, "steps");
    mkdirSync(steps);
    writeFileSync(join(steps, "control-plane-pods.sha256"), "digest\n");
    const state = join(dir, "node");
    const log = join(dir, "calls");
    const kubectl = join(dir, "kubectl");
    // Understands just what the scripts ask; the node's state lives in files under $state.
    writeFileSync(
      kubectl,
      `#!/bin/bash
args=("$@"); echo "\${args[*]:3}" >> ${log}
cmd="$4"; node="$6"
if [ -s ${state}.down ] && [ "$(cat ${state}.down)" -gt 0 ]; then
  echo $(( $(cat ${state}.down) - 1 )) > ${state}.down
  echo "The connection to the server 127.0.0.1:6443 was refused" >&2; exit 1
fi
if [ ! -d ${state} ]; then
  case " $* " in *" --ignore-not-found "*) exit 0 ;; esac
  echo "Error from server (NotFound): nodes \\"$node\\" not found" >&2; exit 1
fi
case "$cmd $*" in
  *"jsonpath={.spec.unschedulable}"*) cat ${state}/unschedulable 2>/dev/null || true ;;
  *"jsonpath={.metadata.annotations"*) cat ${state}/annotation 2>/dev/null || true ;;
  get*) echo "$node Ready" ;;
  annotate*drydock.io/upgrading=true*) echo true > ${state}/annotation ;;
  annotate*drydock.io/upgrading-*) rm -f ${state}/annotation ;;
  drain*) echo true > ${state}/unschedulable ;;
  uncordon*) rm -f ${state}/unschedulable ;;
  delete*) rm -rf ${state} ;;
esac
`,
    );
    chmodSync(kubectl, 0o755);
    const run = (script: string) => {
      writeFileSync(log, "");
      // The retries' pauses are not what is tested.
      const r = spawnSync("bash", ["-c", `sleep() { :; }\n${script.replaceAll("/usr/local/bin/kubectl", kubectl)}`], { encoding: "utf8", env: { ...process.env, DRYDOCK_STEP_STATE: steps } });
      return { code: r.status, stderr: r.stderr, calls: readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((c) => c.split(" ")[0] + (c.includes("jsonpath") ? ":jsonpath" : "")) };
    };
    fn(run, state, steps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a node not registered yet (a worker added to a running cluster) is left alone", () => {
  withNode((run) => {
    const r = run(cordonDrainScript("w-1", SERVER));
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, ["get"]);
  });
});

test("cordon and drain mark the node; after the upgrade uncordon clears it", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    assert.equal(run(cordonDrainScript("w-1", SERVER)).code, 0);
    assert.equal(readFileSync(join(state, "annotation"), "utf8").trim(), "true");
    assert.equal(readFileSync(join(state, "unschedulable"), "utf8").trim(), "true", "drained (and so cordoned)");
    const r = run(uncordonScript("w-1", SERVER));
    assert.equal(r.code, 0);
    assert.ok(r.calls.includes("uncordon"));
    assert.ok(!existsSync(join(state, "unschedulable")) && !existsSync(join(state, "annotation")));
  });
});

test("a node someone else cordoned is drained but never uncordoned by drydock", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    writeFileSync(join(state, "unschedulable"), "true\n");
    assert.equal(run(cordonDrainScript("w-1", SERVER)).code, 0);
    assert.ok(!existsSync(join(state, "annotation")), "not marked");
    const r = run(uncordonScript("w-1", SERVER));
    assert.ok(!r.calls.includes("uncordon"));
    assert.ok(existsSync(join(state, "unschedulable")), "still cordoned");
  });
});

test("an API that does not answer at first: asked again, the registered node is drained; never taken for an unregistered one", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    apiDownFor(state, 3);
    const r = run(cordonDrainScript("w-1", SERVER));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls.slice(0, 5), ["get", "get", "get", "get", "get:jsonpath"], "three refused reads, then the answers");
    assert.ok(r.calls.includes("drain"), "drained");
    assert.equal(readFileSync(join(state, "annotation"), "utf8").trim(), "true");
  });
});

test("an API that never answers fails the drain and the uncordon, and changes nothing", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    writeFileSync(join(state, "annotation"), "true\n");
    for (const script of [cordonDrainScript("w-1", SERVER), uncordonScript("w-1", SERVER)]) {
      apiDownFor(state, 1000);
      const r = run(script);
      assert.equal(r.code, 1);
      assert.equal(r.calls.length, API_READ_ATTEMPTS, "every attempt was a read");
      assert.ok(r.calls.every((c) => c.startsWith("get")), `nothing but reads: ${r.calls.join(", ")}`);
      assert.match(r.stderr, /drydock: the API did not answer: get node w-1/);
    }
    assert.ok(existsSync(state) && existsSync(join(state, "annotation")), "the node is still there, still marked");
  });
});

test("a worker that goes while the API never answers: its machine may go, and the operator is told the node is still in the API", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    apiDownFor(state, 1000);
    const r = run(removeNodeScript("w-1", SERVER));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.length, API_READ_ATTEMPTS);
    assert.ok(r.calls.every((c) => c === "get"), `nothing but reads: ${r.calls.join(", ")}`);
    assert.match(r.stderr, /drydock: w-1 was neither drained nor deleted from the API; once it answers: kubectl delete node w-1/);
  });
});

test("before any control plane has run on the host (a first bring-up), the drain asks nothing and does nothing", () => {
  withNode((run, state, steps) => {
    spawnSync("mkdir", [state]);
    rmSync(join(steps, "control-plane-pods.sha256"));
    apiDownFor(state, 1000);
    const r = run(cordonDrainScript("w-1", SERVER));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, []);
    assert.match(r.stderr, /no control plane has run on this host yet/);
  });
});

test("a worker that goes is drained, then deleted from the API, also when the API answers only on a later attempt", () => {
  withNode((run, state) => {
    spawnSync("mkdir", [state]);
    apiDownFor(state, 2);
    const r = run(removeNodeScript("w-1", SERVER));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, ["get", "get", "get", "drain", "delete"]);
    assert.equal(existsSync(state), false, "deleted");
  });
});

test("a worker that never registered is not drained or deleted on removal", () => {
  withNode((run) => {
    const r = run(removeNodeScript("w-1", SERVER));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, ["get"]);
  });
});
