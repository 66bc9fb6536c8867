// A file a host receives. Secret files hold key material: they are written
// only through stdin when provisioning, and are Pulumi secrets.
export interface HostFile {
  /** Absolute path on the host. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  readonly owner: string;
  readonly secret: boolean;
}

export const KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

export function publicFile(path: string, content: string, mode = PUBLIC_MODE): HostFile {
  return { path, content, mode, owner: "root:root", secret: false };
}

export function secretFile(path: string, content: string, mode = KEY_MODE): HostFile {
  return { path, content, mode, owner: "root:root", secret: true };
}

/** Adds files, keeping the first of any path already present (shared CA certificates). */
export function addFiles(target: HostFile[], files: readonly HostFile[]): void {
  for (const file of files) if (!target.some((f) => f.path === file.path)) target.push(file);
}
