// X.509 issuance: certificates are built with the typed ASN.1 models of
// @peculiar/asn1-x509 and signed with Node's native crypto (synchronous, fast).
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
} from "@peculiar/asn1-x509";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

export type KeyAlgorithm = "ecdsa-p256" | "rsa-2048" | "rsa-3072" | "rsa-4096";
export type Usage = "ca" | "server" | "client" | "peer";

export interface Subject {
  readonly commonName: string;
  readonly organizations?: readonly string[];
}

export interface AltNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

export interface PrivateKey {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
}

export interface IssuedCertificate extends PrivateKey {
  readonly certificatePem: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface CertificateRequest {
  readonly subject: Subject;
  readonly usage: Usage;
  readonly altNames?: AltNames;
  readonly algorithm: KeyAlgorithm;
  readonly validityDays: number;
  /** Issue at this instant (default now); notBefore is a few minutes earlier for clock skew. */
  readonly now?: Date;
}

export interface Issuer {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
};

const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface KeyObjects {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

function generateKeyObjects(algorithm: KeyAlgorithm): KeyObjects {
  return algorithm === "ecdsa-p256"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : generateKeyPairSync("rsa", { modulusLength: Number(algorithm.slice(4)) });
}

function exportPrivate(pair: KeyObjects): PrivateKey {
  return { privateKeyPem: pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}

export function generatePrivateKey(algorithm: KeyAlgorithm): PrivateKey {
  return exportPrivate(generateKeyObjects(algorithm));
}

/** The SubjectPublicKeyInfo PEM of a private key. */
export function publicKeyPem(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }) as string;
}

interface ParsedIssuer {
  readonly key: KeyObject;
  readonly name: Name;
  readonly keyId: ArrayBuffer;
}

/**
 * Parsing a PEM key costs more than signing, so a caller issuing many leaves from
 * one CA passes a cache. There is no module-level cache: this module is serialized
 * into Pulumi dynamic providers, which cannot capture live state.
 */
export type IssuerCache = Map<string, ParsedIssuer>;

export function newIssuerCache(): IssuerCache {
  return new Map();
}

function parseIssuer(issuer: Issuer, cache: IssuerCache | undefined): ParsedIssuer {
  const cacheKey = issuer.certificatePem;
  const cached = cache?.get(cacheKey);
  if (cached) return cached;
  const cert = AsnConvert.parse(pemBody(issuer.certificatePem), Certificate);
  const parsed = {
    key: createPrivateKey(issuer.privateKeyPem),
    name: cert.tbsCertificate.subject,
    keyId: keyIdentifier(cert.tbsCertificate.subjectPublicKeyInfo),
  };
  cache?.set(cacheKey, parsed);
  return parsed;
}

function name(subject: Subject): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
  // Organizations first, as kubeadm and openssl print them: O=..., CN=...
  return new Name([...(subject.organizations ?? []).map((o) => rdn(OID.organization, o)), rdn(OID.commonName, subject.commonName)]);
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: SubjectPublicKeyInfo): ArrayBuffer {
  return new Uint8Array(createHash("sha1").update(new Uint8Array(spki.subjectPublicKey)).digest()).buffer;
}

function signatureAlgorithm(key: KeyObject): { identifier: AlgorithmIdentifier; digest: string } {
  if (key.asymmetricKeyType === "ec") {
    return { identifier: new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSha256 }), digest: "sha256" };
  }
  return { identifier: new AlgorithmIdentifier({ algorithm: OID.sha256WithRsa, parameters: null }), digest: "sha256" };
}

function keyUsageFor(usage: Usage, rsa: boolean): number {
  if (usage === "ca") return KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;
  // keyEncipherment only means something for RSA key transport (RFC 8813 for ECDSA).
  return KeyUsageFlags.digitalSignature | (rsa ? KeyUsageFlags.keyEncipherment : 0);
}

function extendedKeyUsageFor(usage: Usage): string[] {
  switch (usage) {
    case "server":
      return [id_kp_serverAuth];
    case "client":
      return [id_kp_clientAuth];
    case "peer":
      return [id_kp_serverAuth, id_kp_clientAuth];
    case "ca":
      return [];
  }
}

function pem(label: string, der: ArrayBuffer | Buffer): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, "$&\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

function pemBody(text: string): Buffer {
  return Buffer.from(text.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and no leading zero byte
  return new Uint8Array(bytes).buffer;
}

/**
 * Issues a certificate and a fresh key pair. Without an issuer the certificate is
 * self-signed (a CA). Uses the private key given, if any (to re-sign an existing key).
 */
export interface IssueOptions {
  /** Re-sign this key instead of generating one. */
  readonly existingKey?: PrivateKey;
  readonly issuerCache?: IssuerCache;
}

export function issueCertificate(request: CertificateRequest, issuer: Issuer | null, options: IssueOptions = {}): IssuedCertificate {
  const { existingKey } = options;
  let objects: KeyObjects;
  if (existingKey) {
    const privateKey = createPrivateKey(existingKey.privateKeyPem);
    objects = { privateKey, publicKey: createPublicKey(privateKey) };
  } else {
    objects = generateKeyObjects(request.algorithm);
  }
  const keys = existingKey ?? exportPrivate(objects);
  const now = request.now ?? new Date();
  const notBefore = new Date(Math.floor((now.getTime() - CLOCK_SKEW_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now.getTime() + request.validityDays * DAY_MS) / 1000) * 1000);

  const subjectKey = objects.publicKey;
  const spki = AsnConvert.parse(subjectKey.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo);
  const parsedIssuer = issuer ? parseIssuer(issuer, options.issuerCache) : null;
  const signingKey = parsedIssuer ? parsedIssuer.key : objects.privateKey;

  const extensions: Extension[] = [
    extension(id_ce_keyUsage, true, new KeyUsage(keyUsageFor(request.usage, subjectKey.asymmetricKeyType === "rsa"))),
  ];
  if (request.usage === "ca") {
    extensions.push(extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })));
  } else {
    extensions.push(extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage(extendedKeyUsageFor(request.usage))));
    extensions.push(extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })));
  }
  extensions.push(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))));
  if (parsedIssuer) {
    extensions.push(extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(parsedIssuer.keyId) })));
  }
  const alt = request.altNames;
  if (alt && alt.dns.length + alt.ips.length > 0) {
    const names = [...alt.dns.map((d) => new GeneralName({ dNSName: d })), ...alt.ips.map((ip) => new GeneralName({ iPAddress: ip }))];
    extensions.push(extension(id_ce_subjectAltName, false, new SubjectAlternativeName(names)));
  }

  const algorithm = signatureAlgorithm(signingKey);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: algorithm.identifier,
    issuer: parsedIssuer ? parsedIssuer.name : name(request.subject),
    validity: new Validity({ notBefore, notAfter }),
    subject: name(request.subject),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(algorithm.digest, tbsDer, signingKey);
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm.identifier,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return {
    ...keys,
    certificatePem: pem("CERTIFICATE", AsnConvert.serialize(certificate)),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}
