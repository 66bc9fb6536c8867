// Installs pinned release artifacts: every download is checked against the
// catalog's SHA-256 before anything is installed, so a mismatch installs nothing.
import type { ArtifactRef } from "../spec/catalog";
import { shellQuote as q } from "./shell";

export type InstallLayout =
  | { readonly kind: "binary"; readonly target: string }
  /** Extract members of a tarball (paths inside it) into a folder. */
  | { readonly kind: "tarball"; readonly members: readonly string[]; readonly targetDir: string; readonly stripComponents?: number }
  /** Extract a whole tarball into a folder. */
  | { readonly kind: "tree"; readonly targetDir: string }
  /** Keep the file as it is (a manifest, a chart), not executable. */
  | { readonly kind: "file"; readonly target: string };

export interface InstallItem {
  readonly artifact: Pick<ArtifactRef, "name" | "version" | "url" | "sha256">;
  readonly layout: InstallLayout;
}


/**
 * A bash script body. DRYDOCK_ROOT (default /) prefixes every target, so tests
 * install into a temporary root. Downloads go to a temporary folder removed on exit.
 */
export const INSTALLED_DIR = "/usr/local/lib/drydock/installed";

/** Lists the paths an artifact put on the host, one per line: the reset removes exactly these. */
export const installedList = (name: string) => `${INSTALLED_DIR}/${name}.files`;

/** Marks an artifact as installed: re-runs skip it; a new version (new checksum) installs. */
const marker = (item: InstallItem) => `"$root"${q(`${INSTALLED_DIR}/${item.artifact.name}-${item.artifact.sha256}`)}`;

export function installScript(items: readonly InstallItem[]): string {
  const lines = [
    'root="${DRYDOCK_ROOT:-}"',
    'work="$(mktemp -d)"',
    'trap \'rm -rf "$work"\' EXIT',
    "fetch() { curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 --output \"$2\" \"$1\"; }",
    "# 1. Download and verify everything not yet installed; stop before installing anything on a mismatch.",
  ];
  items.forEach((item, i) => {
    const file = `"$work/a${i}"`;
    lines.push(`if [ ! -f ${marker(item)} ]; then`);
    lines.push(`fetch ${q(item.artifact.url)} ${file}`);
    lines.push(
      `actual="$(sha256sum ${file} | cut -d' ' -f1)"`,
      `if [ "$actual" != ${q(item.artifact.sha256)} ]; then`,
      `  echo ${q(`drydock: checksum mismatch for ${item.artifact.name} ${item.artifact.version} from ${item.artifact.url}: expected ${item.artifact.sha256}, got `)}"$actual"'; nothing was installed' >&2`,
      "  exit 1",
      "fi",
      "fi",
    );
  });
  lines.push("# 2. Install.");
  items.forEach((item, i) => {
    const file = `"$work/a${i}"`;
    const layout = item.layout;
    lines.push(`if [ ! -f ${marker(item)} ]; then`);
    // Collected, then merged with an earlier version's list: the reset removes what any version installed.
    const list = `"$work/l${i}"`;
    lines.push(`mkdir -p "$root"${q(INSTALLED_DIR)}`);
    if (layout.kind === "binary" || layout.kind === "file") {
      lines.push(`install -D -m ${layout.kind === "binary" ? "0755" : "0644"} ${file} "$root"${q(layout.target)}`);
      lines.push(`echo ${q(layout.target)} > ${list}`);
    } else if (layout.kind === "tarball") {
      const strip = layout.stripComponents ? ` --strip-components=${layout.stripComponents}` : "";
      lines.push(`mkdir -p "$work/x${i}" && tar -xzf ${file} -C "$work/x${i}"${strip} ${layout.members.map(q).join(" ")}`);
      const targets = layout.members.map((member) => {
        const base = member.split("/").slice(layout.stripComponents ?? 0).join("/");
        const target = `${layout.targetDir}/${base.split("/").pop()}`;
        lines.push(`install -D -m 0755 "$work/x${i}/"${q(base)} "$root"${q(target)}`);
        return target;
      });
      lines.push(`printf '%s\\n' ${targets.map(q).join(" ")} > ${list}`);
    } else {
      lines.push(`mkdir -p "$root"${q(layout.targetDir)} && tar -xzf ${file} -C "$root"${q(layout.targetDir)}`);
      // The tarball's files (not its folders), as paths on the host.
      lines.push(`tar -tzf ${file} | grep -v '/$' | sed -e 's|^\\./||' -e ${q(`s|^|${layout.targetDir}/|`)} > ${list}`);
    }
    const kept = `"$root"${q(installedList(item.artifact.name))}`;
    lines.push(`{ cat ${kept} 2>/dev/null || true; cat ${list}; } | sort -u > "$work/m${i}" && mv -f "$work/m${i}" ${kept} && chmod 0644 ${kept}`);
    lines.push(`rm -f "$root"${q(`${INSTALLED_DIR}/${item.artifact.name}-`)}* && touch ${marker(item)}`);
    lines.push("fi");
  });
  return lines.join("\n");
}
