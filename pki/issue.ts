// Issues everything an inventory lists: the three CAs, every leaf, the
// service-account signing key and the Secrets encryption key.
import { randomBytes } from "node:crypto";
import { CA_IDS, CA_SUBJECTS, resolveAltNames, type CaId, type CertificateSpec, type PkiInventory } from "./inventory";
import { generatePrivateKey, issueCertificate, newIssuerCache, type IssuedCertificate, type IssuerCache, type KeyAlgorithm } from "./x509";

export interface PkiMaterial {
  readonly cas: Readonly<Record<CaId, IssuedCertificate>>;
  /** By CertificateSpec.id. */
  readonly certificates: Readonly<Record<string, IssuedCertificate>>;
  /** PKCS#8 PEM of the service-account token signing key. */
  readonly serviceAccountKeyPem: string;
  /** Base64 of 32 random bytes: the Secrets encryption-at-rest key. */
  readonly encryptionKey: string;
}

export function issueCa(id: CaId, algorithm: KeyAlgorithm, validityDays: number, now?: Date): IssuedCertificate {
  return issueCertificate({ subject: CA_SUBJECTS[id], usage: "ca", algorithm, validityDays, now }, null);
}

export function issueLeaf(
  cert: CertificateSpec,
  ca: IssuedCertificate,
  algorithm: KeyAlgorithm,
  validityDays: number,
  apiEndpointHost: string | null,
  now?: Date,
  issuerCache?: IssuerCache,
): IssuedCertificate {
  return issueCertificate(
    { subject: cert.subject, usage: cert.usage, altNames: resolveAltNames(cert.altNames, apiEndpointHost), algorithm, validityDays, now },
    ca,
    { issuerCache },
  );
}

export function newEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}

export function issueCas(inventory: PkiInventory, now: Date): Record<CaId, IssuedCertificate> {
  return Object.fromEntries(CA_IDS.map((id) => [id, issueCa(id, inventory.algorithm, inventory.caValidityDays, now)])) as Record<CaId, IssuedCertificate>;
}

/** Leaves of an inventory (or a slice of one), in order; one issuer cache for the run. */
export function issueLeaves(
  certificates: readonly CertificateSpec[],
  cas: Readonly<Record<CaId, IssuedCertificate>>,
  inventory: Pick<PkiInventory, "algorithm" | "certValidityDays">,
  apiEndpointHost: string | null,
  now: Date,
): IssuedCertificate[] {
  const issuerCache = newIssuerCache();
  return certificates.map((cert) => issueLeaf(cert, cas[cert.ca], inventory.algorithm, inventory.certValidityDays, apiEndpointHost, now, issuerCache));
}

/** The material, once CAs and leaves (in inventory order) are issued: adds the keys. */
export function assembleMaterial(inventory: PkiInventory, cas: Record<CaId, IssuedCertificate>, leaves: readonly IssuedCertificate[]): PkiMaterial {
  return {
    cas,
    certificates: Object.fromEntries(inventory.certificates.map((cert, i) => [cert.id, leaves[i]!])),
    serviceAccountKeyPem: generatePrivateKey(inventory.algorithm).privateKeyPem,
    encryptionKey: newEncryptionKey(),
  };
}

/** Fresh material for a whole inventory (offline render; Pulumi keeps its own in state). */
export function issuePki(inventory: PkiInventory, apiEndpointHost: string | null, now: Date = new Date()): PkiMaterial {
  const cas = issueCas(inventory, now);
  return assembleMaterial(inventory, cas, issueLeaves(inventory.certificates, cas, inventory, apiEndpointHost, now));
}

/**
 * Stand-in material with the inventory's shape: one CA-signed certificate reused
 * for every id. For computing what exists (hosts, paths, steps) before the real
 * material is known; never rendered or sent anywhere.
 */
export function shapeMaterial(inventory: PkiInventory): PkiMaterial {
  const ca = issueCa("ca", "ecdsa-p256", 1);
  const leaf = issueCertificate({ subject: { commonName: "shape" }, usage: "client", algorithm: "ecdsa-p256", validityDays: 1 }, ca);
  return {
    cas: { ca, "etcd-ca": ca, "front-proxy-ca": ca },
    certificates: Object.fromEntries(inventory.certificates.map((c) => [c.id, leaf])),
    serviceAccountKeyPem: leaf.privateKeyPem,
    encryptionKey: "",
  };
}
