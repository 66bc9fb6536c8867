// The conformance run's parts and what they report: which specs a part runs (ginkgo focus
// and skip), and a compact per-test list read back from ginkgo's JUnit report.
import { parse } from "yaml";

/** The suite's areas (the [sig-*] label every spec's text carries), in the order they run. */
export const AREAS = [
  "sig-network", "sig-node", "sig-api-machinery", "sig-apps", "sig-cli", "sig-storage",
  "sig-auth", "sig-scheduling", "sig-architecture", "sig-instrumentation",
] as const;
export type Area = (typeof AREAS)[number];

export interface Part {
  /** e.g. sig-network, or sig-apps-serial for the area's [Serial] specs. */
  readonly name: string;
  readonly area: Area;
  readonly serial: boolean;
  readonly focus: string;
  readonly skip: string;
}

export function partsOf(area: Area): Part[] {
  const label = `\\[${area}\\]`;
  return [
    { name: area, area, serial: false, focus: `${label}.*\\[Conformance\\]`, skip: "\\[Serial\\]" },
    { name: `${area}-serial`, area, serial: true, focus: `${label}.*\\[Serial\\].*\\[Conformance\\]|${label}.*\\[Conformance\\].*\\[Serial\\]`, skip: "^$" },
  ];
}

/** A part narrowed to some of its specs (by their JUnit names), to run again what failed. */
export function narrowed(part: Part, junitNames: readonly string[]): Part {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // JUnit names are "[It] <spec text> [<labels>]"; ginkgo focuses on the spec text.
  const texts = junitNames.map((name) => name.replace(/^\[It\] /, "").replace(/ \[[^\]]*\bConformance\b[^\]]*\]$/, ""));
  return { ...part, focus: texts.map(escape).join("|") };
}

/** The results of a part run again in part: the new results replace the old ones of the same tests. */
export function mergeResults(old: readonly TestResult[], again: readonly TestResult[]): TestResult[] {
  const replaced = new Set(again.map((r) => r.name));
  return [...old.filter((r) => !replaced.has(r.name)), ...again].sort((a, b) => a.name.localeCompare(b.name));
}

export function selects(part: Part, specName: string): boolean {
  return new RegExp(part.focus).test(specName) && !new RegExp(part.skip).test(specName);
}

/** The [Conformance] specs' names, from `e2e.test --list-conformance-tests` (YAML). */
export function conformanceCodenames(listYaml: string): string[] {
  const entries = parse(listYaml) as { codename?: unknown }[];
  return entries.map((e) => e.codename).filter((c): c is string => typeof c === "string");
}

export type Status = "passed" | "failed" | "skipped";

export interface TestResult {
  readonly name: string;
  readonly status: Status;
  readonly seconds: number;
  /** The failure or skip message on one line, cut at 300 characters. */
  readonly reason: string;
}

const unescape = (text: string) =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#xA;/g, "\n").replace(/&#x9;/g, "\t").replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d))).replace(/&amp;/g, "&");

const attribute = (tag: string, name: string) => {
  const match = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return match ? unescape(match[1]!) : undefined;
};

/**
 * The part's specs from ginkgo's JUnit report. Ginkgo lists every spec of the suite, those the
 * focus left out as skipped; only the part's own are kept, and suite-level nodes are dropped.
 */
export function parseJunit(xml: string, part: Part): TestResult[] {
  const results: TestResult[] = [];
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const tag = match[1]!;
    const body = match[3] ?? "";
    const name = attribute(tag, "name") ?? "";
    if (!selects(part, name)) continue;
    const status = attribute(tag, "status");
    const failed = /<(failure|error)\b/.test(body);
    const skipped = /<skipped\b/.test(body);
    const state: Status = failed || (status !== undefined && !["passed", "skipped"].includes(status)) ? "failed" : skipped || status === "skipped" ? "skipped" : "passed";
    const message = body.match(/<(?:failure|error|skipped)\b[^>]*?message="([^"]*)"/)?.[1] ?? body.match(/<(?:failure|error)\b[^>]*>([^<]*)/)?.[1] ?? "";
    results.push({ name, status: state, seconds: Number(attribute(tag, "time") ?? 0), reason: unescape(message).replace(/\s+/g, " ").trim().slice(0, 300) });
  }
  return results.sort((a, b) => a.name.localeCompare(b.name));
}

/** One line per test: status, seconds, name, and the reason when it did not pass. */
export function formatResults(results: readonly TestResult[]): string {
  return results.map((r) => [r.status, r.seconds.toFixed(1), r.name, r.status === "passed" ? "" : r.reason].join("\t").trimEnd()).join("\n") + (results.length ? "\n" : "");
}

export function parseResults(text: string): TestResult[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [status, seconds, name, reason] = line.split("\t");
      return { status: status as Status, seconds: Number(seconds), name: name!, reason: reason ?? "" };
    });
}

export function counts(results: readonly TestResult[]): Record<Status, number> {
  const c: Record<Status, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) c[r.status] += 1;
  return c;
}

/**
 * A Markdown table of every part that has results, with how many [Conformance] specs the suite
 * has for it (a part that ran fewer shows), then the tests that did not pass.
 */
export function summaryMarkdown(parts: ReadonlyArray<{ part: Part; results: readonly TestResult[] }>, codenames: readonly string[]): string {
  const inSuite = (part: Part) => codenames.filter((name) => selects(part, name)).length;
  const rows = parts.map(({ part, results }) => {
    const c = counts(results);
    return `| ${part.name} | ${inSuite(part)} | ${c.passed} | ${c.failed} | ${c.skipped} |`;
  });
  const total = counts(parts.flatMap((p) => p.results));
  const totalInSuite = parts.reduce((sum, { part }) => sum + inSuite(part), 0);
  const notPassed = parts.flatMap(({ part, results }) => results.filter((r) => r.status !== "passed").map((r) => `- ${r.status}: \`${part.name}\` ${r.name}${r.reason ? ` — ${r.reason}` : ""}`));
  return [
    "| part | in the suite | passed | failed | skipped |",
    "|---|---|---|---|---|",
    ...rows,
    `| **total** | **${totalInSuite}** | **${total.passed}** | **${total.failed}** | **${total.skipped}** |`,
    "",
    notPassed.length ? "Did not pass:\n" : "Every test that ran passed.",
    ...notPassed,
    "",
  ].join("\n");
}
