// The conformance runner's bookkeeping: which specs a part selects, and what it records from
// ginkgo's JUnit report (a report with every kind of entry ginkgo writes for e2e.test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { conformanceCodenames, counts, formatResults, mergeResults, narrowed, parseJunit, parseResults, partsOf, selects, summaryMarkdown } from "../conformance/report";
import { parseArgs } from "../conformance/run";

const [network, networkSerial] = partsOf("sig-network");

const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" disabled="0" errors="0" failures="1" time="120.5">
  <testsuite name="Kubernetes e2e suite" package="/" tests="6" disabled="0" skipped="2" errors="0" failures="1" time="120.5">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="3.2"></testcase>
    <testcase name="[It] [sig-network] DNS should provide DNS for the cluster  [Conformance]" classname="Kubernetes e2e suite" status="passed" time="12.25">
      <system-err>STEP: Creating a pod &amp; probing DNS</system-err>
    </testcase>
    <testcase name="[It] [sig-network] Services should serve endpoints on same port and different protocols [Conformance]" classname="Kubernetes e2e suite" status="failed" time="61">
      <failure message="failed to get &quot;udp&quot; response&#xA;second line" type="failed">[FAILED] failed to get "udp" response</failure>
    </testcase>
    <testcase name="[It] [sig-network] Proxy version v1 A set of valid responses are returned for both pod and service ProxyWithPath [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0.5">
      <skipped message="skipped - Only supported for providers [gce]"></skipped>
    </testcase>
    <testcase name="[It] [sig-network] Services should have session affinity work for NodePort service [Serial] [Conformance]" classname="Kubernetes e2e suite" status="passed" time="40"></testcase>
    <testcase name="[It] [sig-apps] Deployment deployment should support rollover [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0">
      <skipped message="skipped"></skipped>
    </testcase>
    <testcase name="[It] [sig-network] Networking should check kube-proxy urls" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[ReportAfterSuite] Kubernetes e2e suite report" classname="Kubernetes e2e suite" status="passed" time="0.1"></testcase>
  </testsuite>
</testsuites>
`;

/** As e2e.test --list-conformance-tests writes it (codenames wrap; the suite's own text). */
const LIST = `- testname: DNS, cluster
  codename: '[sig-network] DNS should provide DNS for the cluster  [Conformance]'
  description: 'Create a Pod with ...'
  release: v1.9
  file: test/e2e/network/dns.go
- testname: Service endpoints
  codename: '[sig-network] Services should serve endpoints on same port and different
    protocols [Conformance]'
  release: v1.19
- testname: Proxy, valid responses
  codename: '[sig-network] Proxy version v1 A set of valid responses are returned for
    both pod and service ProxyWithPath [Conformance]'
- testname: Service, affinity
  codename: '[sig-network] Services should have session affinity work for NodePort
    service [Serial] [Conformance]'
- testname: Service, unrun
  codename: '[sig-network] Services should be counted even when it did not run [Conformance]'
`;

test("a part selects its area's [Conformance] specs, the [Serial] ones in a part of their own", () => {
  const checks: [string, boolean, boolean][] = [
    ["[It] [sig-network] DNS should provide DNS for the cluster  [Conformance]", true, false],
    ["[It] [sig-network] Services should have session affinity work for NodePort service [Serial] [Conformance]", false, true],
    ["[It] [sig-network] Foo [Conformance] bar [Serial]", false, true],
    ["[It] [sig-network] Networking should check kube-proxy urls", false, false],
    ["[It] [sig-apps] Deployment deployment should support rollover [Conformance]", false, false],
  ];
  for (const [name, inParallel, inSerial] of checks) {
    assert.equal(selects(network!, name), inParallel, `parallel part: ${name}`);
    assert.equal(selects(networkSerial!, name), inSerial, `serial part: ${name}`);
  }
  assert.equal(checks.length, 5);
});

test("the JUnit report gives the part's own tests with status, time and the reason on one line", () => {
  const results = parseJunit(JUNIT, network!);
  assert.deepEqual(
    results.map((r) => [r.status, r.seconds, r.name.replace(/^\[It\] \[sig-network\] /, ""), r.reason]),
    [
      ["passed", 12.25, "DNS should provide DNS for the cluster  [Conformance]", ""],
      ["skipped", 0.5, "Proxy version v1 A set of valid responses are returned for both pod and service ProxyWithPath [Conformance]", "skipped - Only supported for providers [gce]"],
      ["failed", 61, "Services should serve endpoints on same port and different protocols [Conformance]", 'failed to get "udp" response second line'],
    ],
  );
  assert.deepEqual(counts(results), { passed: 1, failed: 1, skipped: 1 });
  assert.deepEqual(parseJunit(JUNIT, networkSerial!).map((r) => r.status), ["passed"]);
});

test("the per-test list reads back as written, and the summary names every test that did not pass", () => {
  const results = parseJunit(JUNIT, network!);
  assert.deepEqual(parseResults(formatResults(results)), results.map((r) => ({ ...r, seconds: Number(r.seconds.toFixed(1)) })));
  const codenames = conformanceCodenames(LIST);
  assert.equal(codenames.length, 5);
  const summary = summaryMarkdown([{ part: network!, results }, { part: networkSerial!, results: parseJunit(JUNIT, networkSerial!) }], codenames);
  assert.match(summary, /\| sig-network \| 4 \| 1 \| 1 \| 1 \|/);
  assert.match(summary, /\| sig-network-serial \| 1 \| 1 \| 0 \| 0 \|/);
  assert.match(summary, /\| \*\*total\*\* \| \*\*5\*\* \| \*\*2\*\* \| \*\*1\*\* \| \*\*1\*\* \|/);
  assert.match(summary, /- failed: `sig-network` .*Services should serve endpoints.* — failed to get "udp" response second line/);
  assert.match(summary, /- skipped: `sig-network` .*ProxyWithPath.* — skipped - Only supported for providers \[gce\]/);
});

test("--failed runs again only the failed tests, by their spec text, and their new results replace the old", () => {
  const before = parseJunit(JUNIT, network!);
  const failed = before.filter((r) => r.status === "failed");
  const again = narrowed(network!, failed.map((r) => r.name));
  // ginkgo matches the focus against the spec text, which has neither "[It] " nor the labels.
  assert.ok(new RegExp(again.focus).test("[sig-network] Services should serve endpoints on same port and different protocols [Conformance]"));
  assert.ok(!new RegExp(again.focus).test("[sig-network] DNS should provide DNS for the cluster  [Conformance]"));
  assert.deepEqual(parseJunit(JUNIT, again).map((r) => r.name), failed.map((r) => r.name));
  const merged = mergeResults(before, [{ ...failed[0]!, status: "passed", reason: "" }]);
  assert.deepEqual(counts(merged), { passed: 2, failed: 0, skipped: 1 });
  assert.equal(merged.length, before.length);
});

test("npm run conformance takes areas, serial parts, --procs and --rerun, and refuses anything else in one line", () => {
  assert.equal(parseArgs([]).parts.length, 20);
  assert.deepEqual(parseArgs(["sig-node", "sig-apps-serial", "--procs", "2", "--rerun"]).parts.map((p) => p.name), ["sig-node", "sig-node-serial", "sig-apps-serial"]);
  assert.equal(parseArgs(["--procs", "2"]).procs, 2);
  assert.equal(parseArgs(["--rerun"]).rerun, true);
  assert.equal(parseArgs(["--failed"]).failed, true);
  assert.throws(() => parseArgs(["--failed", "--rerun"]), /give one/);
  assert.throws(() => parseArgs(["sig-nodes"]), /^Error: unknown part "sig-nodes": give areas \(sig-network, .*\), or <area>-serial$/);
  assert.throws(() => parseArgs(["--procs", "0"]), /--procs: give a whole number from 1 to 8/);
});
