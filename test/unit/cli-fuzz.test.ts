// Property-based fuzzing of the command line (fast-check): random arguments, random YAML
// shapes and mutations of every example. Every run must end (the test's timeout bounds it),
// exit 0, 1 or 2, print no stack trace, write only inside the sandbox it runs in, and never
// delete or change a file it did not write. Runs in-process, so each case is counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { run } from "../../cli/main";
import { exampleFiles } from "../helpers";

const SENTINELS: Record<string, string> = {
  "notes.txt": "the user's own notes",
  "hosts/inventory": "the user's inventory",
  "cluster/my-notes.txt": "more notes",
  "plan.json": "{\"mine\": true}",
};

interface Outcome {
  code: number;
  out: string[];
  err: string[];
}

async function drydock(args: string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function checkOutcome(args: string[], { code, out, err }: Outcome): void {
  const shown = JSON.stringify(args);
  assert.ok([0, 1, 2].includes(code), `${shown} exited ${code}: ${err.join("\n")}`);
  for (const line of [...out, ...err]) {
    assert.doesNotMatch(line, /^\s+at .+(:\d+:\d+\)?|\(native\))$/m, `${shown}: stack trace: ${line}`);
  }
  if (code === 1) assert.ok(err.length > 0, `${shown}: exit 1 says why`);
  if (code === 2) assert.match(err[0] ?? "", /^(drydock: |\S.*: cannot read the spec file: )/, `${shown}: exit 2 says why`);
}

function checkSentinels(sandbox: string): void {
  for (const [path, content] of Object.entries(SENTINELS)) {
    assert.equal(readFileSync(join(sandbox, "mine", path), "utf8"), content, `mine/${path} untouched`);
  }
}

function makeSandbox(): string {
  const sandbox = mkdtempSync(join(tmpdir(), "drydock-fuzz-"));
  for (const [path, content] of Object.entries(SENTINELS)) {
    mkdirSync(join(sandbox, "mine", path, ".."), { recursive: true });
    writeFileSync(join(sandbox, "mine", path), content);
  }
  writeFileSync(join(sandbox, "spec.yaml"), readFileSync(exampleFiles().find((f) => f.endsWith("minimal.yaml"))!, "utf8"));
  return sandbox;
}

/** Relative paths only (the sandbox is the working folder), plus hostile absolute ones render must refuse. */
const pathArb = fc.oneof(
  fc.constantFrom("", ".", "..", "mine", "mine/hosts", "mine/notes.txt", "mine/notes.txt/below", "spec.yaml", "out", "fresh/a/b", "./out/", "/etc", "/proc/drydock-fuzz", "/dev/null/x", "/dev/zero", "/", "/root", "/tmp"),
  fc.string({ maxLength: 12 }).map((s) => `rel-${s.replace(/^\/+/, "")}`),
  fc.string({ unit: "grapheme", maxLength: 8 }).map((s) => `u-${s.replaceAll("/", "_")}`),
);

const argArb = fc.oneof(
  fc.constantFrom("validate", "render", "help", "--out", "-o", "--print", "--help", "-h", "--bogus", "--out=", "-", "--"),
  pathArb,
  fc.string({ maxLength: 10 }),
);

const commandLineArb = fc.oneof(
  fc.array(argArb, { maxLength: 5 }),
  fc.tuple(fc.constantFrom("render", "validate"), fc.constantFrom("spec.yaml", "missing.yaml", "mine/notes.txt", "/dev/zero"), fc.constantFrom("--out", "-o"), pathArb).map((a) => [...a]),
  fc.tuple(fc.constantFrom("spec.yaml", "mine/notes.txt"), pathArb).map(([spec, out]) => ["render", spec, "--out", out]),
);

test("fuzz: random command lines end with exit 0, 1 or 2, one-line reasons, and never touch the user's files", { timeout: 600_000 }, async () => {
  const sandbox = makeSandbox();
  const cwd = process.cwd();
  process.chdir(sandbox);
  let runs = 0;
  const codes = { 0: 0, 1: 0, 2: 0 } as Record<number, number>;
  try {
    await fc.assert(
      fc.asyncProperty(commandLineArb, async (args) => {
        runs++;
        const outcome = await drydock(args);
        checkOutcome(args, outcome);
        codes[outcome.code]!++;
        checkSentinels(sandbox);
        assert.ok(existsSync("/etc/hosts") && !existsSync("/proc/drydock-fuzz"));
      }),
      { numRuns: 150, seed: 20261201 },
    );
  } finally {
    process.chdir(cwd);
    rmSync(sandbox, { recursive: true, force: true });
  }
  assert.equal(runs, 150);
  assert.ok(codes[0]! > 5 && codes[1]! > 5 && codes[2]! > 5, `every exit code was reached: ${JSON.stringify(codes)}`);
});

/** A random edit of a parsed example: replace, delete or add a field anywhere. */
function mutate(doc: any, picks: number[], value: unknown): any {
  const copy = structuredClone(doc);
  let node = copy;
  for (const pick of picks) {
    if (node === null || typeof node !== "object") break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[pick % keys.length]!;
    if (pick % 7 === 0) {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete node[key];
      return copy;
    }
    if (pick % 5 === 0 || node[key] === null || typeof node[key] !== "object") {
      node[key] = value;
      return copy;
    }
    node = node[key];
  }
  if (node && typeof node === "object" && !Array.isArray(node)) node[`extra${picks.length}`] = value;
  return copy;
}

const valueArb = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1e308, -1, 0, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, "0.0.0.0/0", "10.0.0.0/8", "255.255.255.255", "1.36.4", "9.99.99", "x".repeat(5000), "ü∂\u0000\u202e", null, true, [], {}),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.bigInt().map((n) => n * 10n ** 30n).map(String).map(Number),
);

const docArb = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...exampleFiles()), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), valueArb).map(([file, picks, value]) => stringify(mutate(parse(readFileSync(file, "utf8")), picks, value))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.nat({ max: 60_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`) },
  { weight: 1, arbitrary: fc.nat({ max: 20_000 }).map((n) => `${"a: ".repeat(n)}b`) },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((n) => `a: &a [x, x]\n${Array.from({ length: n }, (_, i) => `b${i}: &b${i + 1} [*${i === 0 ? "a" : `b${i}`}, *${i === 0 ? "a" : `b${i}`}]`).join("\n")}\n`) },
);

test("fuzz: random and mutated specs validate and render to 0, 1 or 2 with one line per problem", { timeout: 900_000 }, async () => {
  const sandbox = makeSandbox();
  const cwd = process.cwd();
  process.chdir(sandbox);
  const codes = { 0: 0, 1: 0, 2: 0 } as Record<number, number>;
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(docArb, fc.boolean(), async (doc, renderIt) => {
        runs++;
        writeFileSync("doc.yaml", doc);
        if (process.env.FUZZ_TRACE) writeFileSync("/tmp/fuzz-last.yaml", doc);
        const validated = await drydock(["validate", "doc.yaml"]);
        checkOutcome(["validate", doc.slice(0, 200)], validated);
        assert.notEqual(validated.code, 2, "a readable file is never a usage error");
        for (const line of validated.err) assert.match(line, /^\S.*: .+$/, "problem lines are '<where>: <what>'");
        codes[validated.code]!++;
        if (renderIt) {
          const out = `out-${runs}`;
          const rendered = await drydock(["render", "doc.yaml", "--out", out]);
          checkOutcome(["render", doc.slice(0, 200)], rendered);
          assert.equal(rendered.code, validated.code, "render agrees with validate");
          assert.equal(existsSync(out), rendered.code === 0, "render writes only when the spec is valid");
          if (rendered.code === 0) assert.deepEqual(readdirSync(out).sort(), [".drydock-render.json", "cluster", "hosts", "plan.json"]);
          rmSync(out, { recursive: true, force: true });
        }
        checkSentinels(sandbox);
      }),
      { numRuns: 200, seed: 20261202 },
    );
  } finally {
    process.chdir(cwd);
    rmSync(sandbox, { recursive: true, force: true });
  }
  assert.equal(runs, 200);
  assert.ok(codes[0]! > 0 && codes[1]! > 0, `both valid and invalid specs were generated: ${JSON.stringify(codes)}`);
});
