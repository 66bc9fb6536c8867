// The worker upgrade scripts, run with bash against a kubectl stand-in that keeps
// one node's state in files: cordon and drain mark only nodes drydock cordoned,
// and uncordon touches only those.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cordonDrainScript, uncordonScript } from "../../hosts/worker-upgrade";

const SERVER = "https://127.0.0.1:6443";

function withNode(fn: (run: (script: string) => { code: number | null; calls: string[] }, state: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "drydock-upgrade-"));
  try {
    const state = join(dir, "node");
    const log = join(dir, "calls");
    const kubectl = join(dir, "kubectl");
    // Understands just what the scripts ask; the node's state lives in files under $state.
    writeFileSync(
      kubectl,
      `#!/bin/bash
args=("$@"); echo "\${args[*]:3}" >> ${log}
cmd="$4"; node="$6"
[ -d ${state} ] || { echo "Error from server (NotFound): nodes \\"$node\\" not found" >&2; exit 1; }
case "$cmd $*" in
  *"jsonpath={.spec.unschedulable}"*) cat ${state}/unschedulable 2>/dev/null ;;
  *"jsonpath={.metadata.annotations"*) cat ${state}/annotation 2>/dev/null ;;
  get*) echo "$node Ready" ;;
  annotate*drydock.io/upgrading=true*) echo true > ${state}/annotation ;;
  annotate*drydock.io/upgrading-*) rm -f ${state}/annotation ;;
  drain*) echo true > ${state}/unschedulable ;;
  uncordon*) rm -f ${state}/unschedulable ;;
esac
`,
    );
    chmodSync(kubectl, 0o755);
    const run = (script: string) => {
      writeFileSync(log, "");
      const r = spawnSync("bash", ["-c", script.replaceAll("/usr/local/bin/kubectl", kubectl)], { encoding: "utf8" });
      return { code: r.status, calls: readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((c) => c.split(" ")[0] + (c.includes("jsonpath") ? ":jsonpath" : "")) };
    };
    fn(run, state);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a node not registered yet (first bring-up) is left alone", () => {
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
