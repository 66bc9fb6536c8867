// Every CIS recommendation docs/security.md marks as held is checked against the
// render of every example; the document itself stays in sync with its generator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { exampleFiles, hostsBase } from "../helpers";
import { cisChecks, evaluate } from "../cis/evaluate";
import { SECURITY_DOC, securityDoc } from "../cis/security-doc";

function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync(SECURITY_DOC, "utf8").split("\n")) {
    const m = /^\| ([0-9.]+) \| .* \| (held|deviates|not-applicable|manual) \| /.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

test("docs/security.md lists every recommendation and is in sync with its generator", () => {
  assert.equal(readFileSync(SECURITY_DOC, "utf8"), securityDoc(), "run npm run docs:security");
  const rows = documented();
  assert.deepEqual([...rows.keys()].sort(), cisChecks().map((c) => c.id).sort());
  assert.ok([...rows.values()].filter((s) => s === "held").length >= 60);
});

const held = () => cisChecks().filter((c) => documented().get(c.id) === "held");

for (const file of exampleFiles()) {
  test(`every held recommendation holds in the render of ${basename(file)}`, () => {
    const tree = renderCluster(requireSpec(loadSpecFile(file)));
    const failures: string[] = [];
    let applicable = 0;
    for (const check of held()) {
      const verdict = evaluate(check, tree);
      if (verdict.applicable === false) continue;
      applicable++;
      if (!verdict.pass) failures.push(`${check.id} ${check.text}: ${verdict.detail}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(applicable >= 60, `judged ${applicable}`);
  });
}

test("the checks bite: turning off audit and encryption, or loosening a key file, fails them", () => {
  const input = hostsBase();
  input.kubernetes = { apiServer: { auditLog: { enabled: false }, encryptionAtRest: "none" } };
  const tree = renderCluster(requireSpec(validateSpec(input)));
  const verdict = (id: string, t = tree) => evaluate(cisChecks().find((c) => c.id === id)!, t);
  assert.equal(verdict("1.2.16").pass, false, "audit log path");
  assert.equal(verdict("1.2.27").pass, false, "encryption provider config");
  assert.equal(verdict("3.2.1").pass, false, "audit policy");
  const loosened = renderCluster(requireSpec(validateSpec(hostsBase())));
  const keyFile = loosened.plan.hosts[0]!.files.find((f) => f.path === "/etc/kubernetes/pki/apiserver.key")! as { mode: string };
  keyFile.mode = "0644";
  assert.equal(verdict("1.1.21", loosened).pass, false, "key file 0644");
  assert.equal(verdict("1.1.21", renderCluster(requireSpec(validateSpec(hostsBase())))).pass, true);
});
