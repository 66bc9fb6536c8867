// Shared test helpers: base specs and small utilities. Test-only.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "..");
export const EXAMPLES_DIR = join(ROOT, "examples");
export const FIXTURES = join(ROOT, "test", "fixtures");

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(EXAMPLES_DIR, f));
}

export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKeyOnly ci@drydock";

export function awsBase(): Record<string, any> {
  return {
    name: "test",
    infrastructure: { provider: "aws", aws: { region: "eu-west-1", sshPublicKey: SSH_KEY } },
  };
}

export function hostsBase(): Record<string, any> {
  return {
    name: "test",
    infrastructure: {
      provider: "hosts",
      hosts: [
        { name: "cp-1", address: "192.168.10.11", roles: ["controlPlane", "etcd"] },
        { name: "cp-2", address: "192.168.10.12", roles: ["controlPlane", "etcd"] },
        { name: "cp-3", address: "192.168.10.13", roles: ["controlPlane", "etcd"] },
        { name: "w-1", address: "192.168.10.21", roles: ["worker"], pool: "general" },
      ],
      apiEndpoint: { vip: "192.168.10.100" },
    },
  };
}

/** Sets a dotted path ("a.b[0].c") in a plain object, creating objects on the way. */
export function setPath(obj: Record<string, any>, path: string, value: unknown): Record<string, any> {
  const parts = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  let cur: any = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i]!;
    if (cur[key] === undefined) cur[key] = typeof parts[i + 1] === "number" ? [] : {};
    cur = cur[key];
  }
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return obj;
}
