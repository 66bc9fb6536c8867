// Writes a rendered tree to disk. render owns a folder only when it wrote the folder's
// manifest; it never deletes anything it did not write, and a new tree is staged in full
// before it replaces the old one, so an interrupted render leaves the previous one whole.
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import type { RenderedTree } from "../hosts/render";
import { PATH_ERRORS } from "../spec";

/** Names the entries render wrote; its presence is what makes a folder render's own. */
export const MANIFEST = ".drydock-render.json";
const STAGING_PREFIX = ".drydock-staging-";
const RETIRED_PREFIX = ".drydock-retired-";
const MANIFEST_KIND = "drydock render output";

/** A folder render cannot or will not write; the CLI reports it in one line, exit 2. */
export class OutputPathError extends Error {}

interface Manifest {
  kind: typeof MANIFEST_KIND;
  entries: string[];
}

const WRITE_ERRORS: Record<string, string> = {
  ...PATH_ERRORS,
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  ENOENT: "the file system there does not allow it",
};

function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && WRITE_ERRORS[code]) return WRITE_ERRORS[code];
  return code ? `cannot write there (${code})` : (err as Error).message;
}

function readManifest(path: string): Manifest | null {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<Manifest>;
    if (parsed.kind === MANIFEST_KIND && Array.isArray(parsed.entries) && parsed.entries.every((e) => typeof e === "string" && !e.includes("/") && !e.startsWith("."))) {
      return { kind: MANIFEST_KIND, entries: parsed.entries };
    }
  } catch {
    // Unreadable or not ours: the caller treats the folder as foreign.
  }
  return null;
}

/** Creates a folder one level at a time (Node's recursive mkdir spins forever under /proc). */
function makeFolder(root: string, shown: string): void {
  const missing: string[] = [];
  for (let dir = root; ; dir = dirname(dir)) {
    let stat;
    try {
      stat = statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        missing.push(dir);
        if (dirname(dir) === dir) break;
        continue;
      }
      throw new OutputPathError(`--out ${shown}: ${fsReason(err)}`);
    }
    if (!stat.isDirectory()) throw new OutputPathError(`--out ${shown}: ${dir === root ? "is a file, not a folder" : `${dir} is a file, not a folder`}`);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (err) {
      throw new OutputPathError(`--out ${shown}: cannot create ${dir}: ${fsReason(err)}`);
    }
    // Some file systems (proc, sys) accept nothing new yet do not say so in mkdir's error.
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new OutputPathError(`--out ${shown}: cannot create ${dir}`);
    }
  }
}

/** Is this leftover of an interrupted render safe to remove? Only when it carries our manifest. */
function ownedLeftover(root: string, name: string): boolean {
  if (!name.startsWith(STAGING_PREFIX) && !name.startsWith(RETIRED_PREFIX)) return false;
  const path = join(root, name);
  return lstatSync(path).isDirectory() && readManifest(join(path, MANIFEST)) !== null;
}

/** The entries render may replace in root; throws when root holds anything render did not write. */
function claimFolder(root: string, shown: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (err) {
    throw new OutputPathError(`--out ${shown}: ${fsReason(err)}`);
  }
  if (names.length === 0) return [];
  const manifest = names.includes(MANIFEST) ? readManifest(join(root, MANIFEST)) : null;
  const owned = new Set(manifest?.entries ?? []);
  const foreign = names.filter((name) => name !== MANIFEST && !owned.has(name) && !ownedLeftover(root, name)).sort();
  if (manifest === null || foreign.length > 0) {
    const first = foreign.slice(0, 3).join(", ") + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : "");
    throw new OutputPathError(
      `--out ${shown}: the folder holds files drydock render did not write (${first || MANIFEST}); render into a new or empty folder, or one an earlier render wrote`,
    );
  }
  return names.filter((name) => name !== MANIFEST);
}

function writeFiles(base: string, tree: RenderedTree): void {
  const created = new Set<string>([base]);
  // umask 0 while writing: each file gets exactly its rendered mode at creation.
  const previous = process.umask(0);
  try {
    for (const file of tree.files) {
      const target = join(base, file.path);
      if (!target.startsWith(base + sep)) throw new Error(`rendered path escapes the output folder: ${file.path}`);
      const dir = dirname(target);
      if (!created.has(dir)) {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
        created.add(dir);
      }
      writeFileSync(target, file.content, { mode: file.mode });
    }
  } finally {
    process.umask(previous);
  }
}

function writeManifest(path: string, entries: string[]): void {
  writeFileSync(path, `${JSON.stringify({ kind: MANIFEST_KIND, entries: [...entries].sort() } satisfies Manifest, null, 2)}\n`, { mode: 0o644 });
}

/** Top-level names of a tree: what its manifest will own. */
function topLevelEntries(tree: RenderedTree): string[] {
  return [...new Set(tree.files.map((f) => f.path.split("/")[0]!))];
}

export function writeRenderedTree(outDir: string, tree: RenderedTree): string {
  if (outDir.trim() === "") throw new OutputPathError("--out: the path is empty; name a folder");
  const root = resolve(outDir);
  makeFolder(root, outDir);
  const previous = claimFolder(root, outDir);
  const entries = topLevelEntries(tree);
  const token = randomBytes(6).toString("hex");
  const staging = join(root, `${STAGING_PREFIX}${token}`);
  const retired = join(root, `${RETIRED_PREFIX}${token}`);
  try {
    mkdirSync(staging, { mode: 0o755 });
    writeManifest(join(staging, MANIFEST), entries);
    writeFiles(staging, tree);
    // The slow part is done; the swap below is a handful of renames.
    mkdirSync(retired, { mode: 0o755 });
    writeManifest(join(retired, MANIFEST), previous);
    for (const name of previous) renameSync(join(root, name), join(retired, name));
    for (const name of entries) renameSync(join(staging, name), join(root, name));
    renameSync(join(staging, MANIFEST), join(root, MANIFEST));
  } catch (err) {
    if (err instanceof OutputPathError) throw err;
    throw new OutputPathError(`--out ${outDir}: ${fsReason(err)}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  rmSync(retired, { recursive: true, force: true });
  return root;
}
