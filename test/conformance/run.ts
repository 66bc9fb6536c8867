// npm run conformance [-- <area>... | <area>-serial...] [--procs N] [--rerun | --failed]
// The upstream Kubernetes conformance suite (e2e.test, built here at the cluster's version)
// on the local HA cluster from `npm run local:up`, brought up if it is not. Runs area by area,
// the [Serial] specs of each on their own; a part whose results are in docs/conformance/results
// is not run again unless --rerun; --failed runs again only the tests on record as failed.
// Raw logs and JUnit stay in the run folder.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, runOk } from "../integration/helpers";
import { debianMirror } from "../e2e/machines";
import { ROOT } from "../helpers";
import { BIN_DIR, binaryPath, buildToolchain } from "../toolchain/build";
import { buildAndPush, imageName } from "../cluster/images";
import { PUSH_REGISTRY } from "../cluster/local-cluster";
import { LOCAL_DIR, upLocalCluster } from "../cluster/local-up";
import { ensureBusybox } from "./busybox";
import { conformanceImages, ensureE2eRootfs } from "./images";
import { AREAS, conformanceCodenames, counts, formatResults, mergeResults, narrowed, parseJunit, parseResults, partsOf, summaryMarkdown, type Area, type Part, type TestResult } from "./report";

const RESULTS_DIR = join(ROOT, "docs/conformance/results");
const RUN_DIR = process.env.DRYDOCK_CONFORMANCE_DIR ?? "/var/tmp/drydock-conformance";
/** ginkgo processes for a part's parallel specs (2 cores run five machines besides). */
const DEFAULT_PROCS = 3;
/** A bound on one part, as sonobuoy's default run timeout. */
const PART_TIMEOUT = "6h";
const log = (line: string) => console.log(`conformance: ${line}`);

interface Options {
  parts: Part[];
  procs: number;
  rerun: boolean;
  failed: boolean;
}

export function parseArgs(args: readonly string[]): Options {
  const all = AREAS.flatMap(partsOf);
  const wanted: Part[] = [];
  let procs = DEFAULT_PROCS;
  let rerun = false;
  let failed = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--rerun") rerun = true;
    else if (arg === "--failed") failed = true;
    else if (arg === "--procs") {
      procs = Number(args[++i]);
      if (!Number.isInteger(procs) || procs < 1 || procs > 8) throw new Error("--procs: give a whole number from 1 to 8");
    } else if ((AREAS as readonly string[]).includes(arg)) wanted.push(...partsOf(arg as Area));
    else {
      const part = all.find((p) => p.name === arg);
      if (!part) throw new Error(`unknown part ${JSON.stringify(arg)}: give areas (${AREAS.join(", ")}), or <area>-serial`);
      wanted.push(part);
    }
  }
  if (rerun && failed) throw new Error("--rerun runs whole parts again, --failed only their failed tests: give one");
  return { parts: wanted.length ? wanted : all, procs, rerun, failed };
}

const resultsFile = (part: Part) => join(RESULTS_DIR, `${part.name}.tsv`);

async function clusterKubeconfig(): Promise<string> {
  const kubeconfig = join(LOCAL_DIR, "admin.kubeconfig");
  if (existsSync(kubeconfig) && run(binaryPath("kubectl"), [`--kubeconfig=${kubeconfig}`, "--request-timeout=10s", "get", "nodes"]).code === 0) {
    log(`using the running local cluster (${kubeconfig})`);
    return kubeconfig;
  }
  log("no local cluster answers: bringing it up (npm run local:up)");
  return upLocalCluster();
}

/** The images the suite pulls, built and pushed (cached); each must be one e2e.test names. Returns their names and the set's key. */
function pushImages(): { names: string[]; key: string } {
  const mirror = debianMirror();
  const images = conformanceImages(ensureE2eRootfs(mirror), ensureBusybox(mirror));
  const pushed = images.filter((i) => i.push !== false).map((i) => `registry.k8s.io/${imageName(i)}`);
  const listed = new Set(runOk(binaryPath("e2e.test", "conformance"), ["--list-images"]).split("\n"));
  for (const name of pushed) {
    if (!listed.has(name)) throw new Error(`image ${name} is not one e2e.test --list-images names: the recipe is stale`);
  }
  const work = join(RUN_DIR, "images");
  mkdirSync(work, { recursive: true });
  const key = buildAndPush(images, work, PUSH_REGISTRY, log);
  rmSync(work, { recursive: true, force: true });
  return { names: pushed, key };
}

/**
 * When the images changed since the cluster last ran the suite, the nodes' copies under the same
 * names are stale (pods pull if not present): remove them so the new ones are pulled.
 */
function forgetStaleImages(kubeconfig: string, images: { names: string[]; key: string }): void {
  const stamp = join(RUN_DIR, "images.key");
  const before = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (before && before !== images.key) {
    const addresses = runOk(binaryPath("kubectl"), [`--kubeconfig=${kubeconfig}`, "get", "nodes", "-o", "jsonpath={.items[*].status.addresses[?(@.type=='InternalIP')].address}"]).split(/\s+/).filter(Boolean);
    for (const address of addresses) {
      const removed = run("ssh", ["-i", join(LOCAL_DIR, "id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `root@${address}`, `crictl rmi ${images.names.join(" ")} 2>/dev/null; true`], { timeoutMs: 120_000 });
      log(`images changed since the last run: removed the old copies on ${address} (exit ${removed.code})`);
    }
  }
  writeFileSync(stamp, `${images.key}\n`);
}

/** Runs one part with ginkgo; progress goes to the console once a minute, everything to the log. */
async function runPart(part: Part, kubeconfig: string, procs: number, again: readonly TestResult[] = []): Promise<void> {
  const dir = join(RUN_DIR, again.length ? `${part.name}-failed` : part.name);
  if (again.length) part = narrowed(part, again.map((r) => r.name));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, "e2e.log");
  const out = createWriteStream(logFile);
  const args = [
    `--procs=${part.serial ? 1 : procs}`, `--focus=${part.focus}`, `--skip=${part.skip}`, `--timeout=${PART_TIMEOUT}`,
    "--no-color", "--junit-report=junit.xml", `--output-dir=${dir}`,
    binaryPath("e2e.test", "conformance"), "--",
    `--kubeconfig=${kubeconfig}`, "--provider=skeleton", `--report-dir=${dir}`,
  ];
  log(`${part.name}: running (log: ${logFile})`);
  const started = Date.now();
  const child = spawn(binaryPath("ginkgo", "conformance"), args, { env: { ...process.env, PATH: `${BIN_DIR}:${process.env.PATH ?? ""}`, KUBECONFIG: kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
  let done = 0;
  let pending = "";
  let failure = "";
  const scan = (chunk: string) => {
    out.write(chunk);
    done += chunk.split("•").length - 1; // a finished spec: • alone when it passed, at a report's start otherwise
    const text = pending + chunk;
    const lines = text.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (failure && line.trim()) {
        log(`${part.name}: ${failure}: ${line.trim()}`); // the line after the report's first names the spec
        failure = "";
      }
      failure = line.match(/^• \[(FAILED|PANICKED|TIMEDOUT|INTERRUPTED)\]/)?.[1] ?? failure;
    }
  };
  child.stdout.setEncoding("utf8"); // whole characters: • is three bytes
  child.stdout.on("data", scan);
  child.stderr.on("data", (chunk: Buffer) => out.write(chunk));
  const progress = setInterval(() => log(`${part.name}: ${done} specs finished, ${((Date.now() - started) / 60_000).toFixed(0)} min`), 60_000);
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  clearInterval(progress);
  out.end();
  const junit = join(dir, "junit.xml");
  if (!existsSync(junit)) throw new Error(`${part.name}: ginkgo exited ${code} without a JUnit report; see ${logFile}`);
  const results = parseJunit(readFileSync(junit, "utf8"), part);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const onRecord = again.length ? parseResults(readFileSync(resultsFile(part), "utf8")) : [];
  writeFileSync(resultsFile(part), formatResults(again.length ? mergeResults(onRecord, results) : results));
  const c = counts(results);
  log(`${part.name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped in ${((Date.now() - started) / 60_000).toFixed(1)} min (ginkgo exit ${code})`);
  if (c.failed > 0) process.exitCode = 1; // the run goes on with the next part; the command says it failed
}

/** What the summary measures the results against: e2e.test's version and its [Conformance] specs. */
interface Suite {
  readonly version: string;
  readonly codenames: readonly string[];
}

function readSuite(): Suite {
  const e2e = binaryPath("e2e.test", "conformance");
  return { version: runOk(e2e, ["--version"]).trim(), codenames: conformanceCodenames(runOk(e2e, ["--list-conformance-tests"])) };
}

function writeSummary(suite: Suite): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const parts = AREAS.flatMap(partsOf).filter((p) => existsSync(resultsFile(p))).map((part) => ({ part, results: parseResults(readFileSync(resultsFile(part), "utf8")) }));
  writeFileSync(join(RESULTS_DIR, "..", "summary.md"), `# Conformance results (generated by npm run conformance)\n\ne2e.test ${suite.version}: ${suite.codenames.length} [Conformance] specs. Per-test lists: results/<part>.tsv (status, seconds, name, reason).\n\n${summaryMarkdown(parts, suite.codenames)}`);
  log(`summary: ${join(RESULTS_DIR, "..", "summary.md")}`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  buildToolchain(log);
  mkdirSync(RUN_DIR, { recursive: true });
  const kubeconfig = await clusterKubeconfig();
  forgetStaleImages(kubeconfig, pushImages());
  const suite = readSuite();
  for (const part of options.parts) {
    if (options.failed) {
      const failedBefore = existsSync(resultsFile(part)) ? parseResults(readFileSync(resultsFile(part), "utf8")).filter((r) => r.status === "failed") : [];
      if (failedBefore.length) await runPart(part, kubeconfig, options.procs, failedBefore);
      else log(`${part.name}: no failed tests on record`);
      continue;
    }
    if (!options.rerun && existsSync(resultsFile(part))) {
      log(`${part.name}: results on record, not run again (--rerun to run it)`);
      continue;
    }
    await runPart(part, kubeconfig, options.procs);
    writeSummary(suite);
  }
  writeSummary(suite);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`conformance: ${err.message}`);
    process.exit(1);
  });
}
