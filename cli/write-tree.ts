// Writes a rendered tree to disk, replacing only what render owns in the folder.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { RenderedTree } from "../hosts/render";

const OWNED = ["hosts", "cluster", "plan.json"];

export function writeRenderedTree(outDir: string, tree: RenderedTree): string {
  const root = resolve(outDir);
  mkdirSync(root, { recursive: true });
  // Only what render owns, so `--out .` never wipes unrelated files.
  for (const owned of OWNED) rmSync(join(root, owned), { recursive: true, force: true });
  const created = new Set<string>();
  // umask 0 while writing: each file gets exactly its rendered mode at creation.
  const previous = process.umask(0);
  try {
    for (const file of tree.files) {
      const target = join(root, file.path);
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
  return root;
}
