// The OpenSSH public key line of a private key, in-process: the key never goes to a file,
// a command line or another program. OpenSSH's own format carries the public key in its
// clear header (so encrypted keys work too); PEM and PKCS#8 keys go through Node's crypto.
import { createPublicKey } from "node:crypto";

const OPENSSH_MAGIC = "openssh-key-v1\0";

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** An mpint: big-endian, with a leading zero when the top bit is set. */
function mpint(unsigned: Buffer): Buffer {
  let bytes = unsigned;
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return sshString(bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function readString(buffer: Buffer, offset: number): [Buffer, number] {
  if (offset + 4 > buffer.length) throw new Error("truncated OpenSSH key");
  const length = buffer.readUInt32BE(offset);
  if (offset + 4 + length > buffer.length) throw new Error("truncated OpenSSH key");
  return [buffer.subarray(offset + 4, offset + 4 + length), offset + 4 + length];
}

function fromOpenSsh(pem: string): string {
  const body = Buffer.from(pem.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, "").replace(/\s+/g, ""), "base64");
  if (body.subarray(0, OPENSSH_MAGIC.length).toString("latin1") !== OPENSSH_MAGIC) throw new Error("not an OpenSSH private key");
  let offset = OPENSSH_MAGIC.length;
  for (let i = 0; i < 3; i++) [, offset] = readString(body, offset); // cipher, kdf, kdf options
  if (body.readUInt32BE(offset) < 1) throw new Error("the OpenSSH key file holds no key");
  const [blob] = readString(body, offset + 4);
  const [type] = readString(blob, 0);
  return `${type.toString("latin1")} ${blob.toString("base64")}`;
}

const CURVES: Readonly<Record<string, string>> = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" };

function fromPem(pem: string): string {
  const jwk = createPublicKey(pem).export({ format: "jwk" });
  const b64 = (s: string | undefined) => Buffer.from(s ?? "", "base64url");
  let type: string;
  let blob: Buffer;
  if (jwk.kty === "RSA") {
    type = "ssh-rsa";
    blob = Buffer.concat([sshString(Buffer.from(type)), mpint(b64(jwk.e)), mpint(b64(jwk.n))]);
  } else if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    type = "ssh-ed25519";
    blob = Buffer.concat([sshString(Buffer.from(type)), sshString(b64(jwk.x))]);
  } else if (jwk.kty === "EC" && jwk.crv && CURVES[jwk.crv]) {
    const curve = CURVES[jwk.crv]!;
    type = `ecdsa-sha2-${curve}`;
    const point = Buffer.concat([Buffer.from([4]), b64(jwk.x), b64(jwk.y)]);
    blob = Buffer.concat([sshString(Buffer.from(type)), sshString(Buffer.from(curve)), sshString(point)]);
  } else {
    throw new Error(`unsupported SSH key type ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""}`);
  }
  return `${type} ${blob.toString("base64")}`;
}

export function openSshPublicKey(privateKey: string): string {
  return privateKey.includes("BEGIN OPENSSH PRIVATE KEY") ? fromOpenSsh(privateKey) : fromPem(privateKey);
}
