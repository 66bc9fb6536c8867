// The local backend derives root's authorized key from the stack's private key in-process:
// the same line ssh-keygen -y prints, for every key type and format users hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSshPublicKey } from "../../local/ssh-key";

const KEYS: [string, string[]][] = [
  ["ed25519 (OpenSSH)", ["-t", "ed25519"]],
  ["rsa 3072 (OpenSSH)", ["-t", "rsa", "-b", "3072"]],
  ["ecdsa p256 (OpenSSH)", ["-t", "ecdsa", "-b", "256"]],
  ["ecdsa p521 (OpenSSH)", ["-t", "ecdsa", "-b", "521"]],
  ["rsa 2048 (PEM)", ["-t", "rsa", "-b", "2048", "-m", "PEM"]],
  ["ecdsa p384 (PKCS#8)", ["-t", "ecdsa", "-b", "384", "-m", "PKCS8"]],
  ["ed25519 with a passphrase (OpenSSH: the public key is in the clear header)", ["-t", "ed25519", "-N", "secret-phrase"]],
];

test("the public key line matches ssh-keygen's for every key type and format", () => {
  const dir = mkdtempSync(join(tmpdir(), "drydock-sshkey-"));
  let checked = 0;
  for (const [name, args] of KEYS) {
    const file = join(dir, name.replace(/\W+/g, "-"));
    const hasPassphrase = args.includes("-N");
    const gen = spawnSync("ssh-keygen", ["-q", ...(hasPassphrase ? [] : ["-N", ""]), ...args, "-f", file], { encoding: "utf8" });
    assert.equal(gen.status, 0, gen.stderr);
    const expected = readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    assert.equal(openSshPublicKey(readFileSync(file, "utf8")), expected, name);
    checked++;
  }
  assert.equal(checked, KEYS.length);
  rmSync(dir, { recursive: true, force: true });
});

test("what is not a private key is refused with a reason", () => {
  assert.throws(() => openSshPublicKey("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), /not an OpenSSH private key|truncated/);
  assert.throws(() => openSshPublicKey("not a key"));
});
