// Writes a rendered tree to disk, replacing only what render owns in the folder.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { RenderedTree } from "../hosts/render";

const OWNED = ["hosts", "cluster", "plan.json"];

export function writeRenderedTree(outDir: string, tree: RenderedTree): string {
  const root = resolve(outDir);
  mkdirSync(root, { recursive: true });
  // Only what render owns, so `--out .` never wipes unrelated files.
  for (const owned of OWNED) rmSync(join(root, owned), { recursive: true, force: true });
  for (const file of tree.files) {
    const target = join(root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content, { mode: file.mode });
    chmodSync(target, file.mode);
  }
  return root;
}
