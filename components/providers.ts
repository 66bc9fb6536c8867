// Dynamic providers: PKI material kept in stack state (so an
// unchanged spec changes nothing) and the version guard. Serialized by Pulumi, run
// in the provider host: they use only pki/x509, spec/upgrade and Node's crypto.
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { generatePrivateKey, issueCertificate, publicKeyPem, type KeyAlgorithm, type Usage } from "../pki/x509";
import { upgradeProblems, type DeployedVersions } from "../spec/upgrade";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CaInputs {
  readonly commonName: string;
  readonly algorithm: KeyAlgorithm;
  readonly validityDays: number;
}

export interface CertificateInputs {
  readonly commonName: string;
  readonly organizations: string[];
  readonly usage: Exclude<Usage, "ca">;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly algorithm: KeyAlgorithm;
  readonly validityDays: number;
  readonly renewBeforeDays: number;
  /** Bumping it reissues the certificate (spec pki.rotation). */
  readonly rotation: number;
  readonly caCertificatePem: string;
  readonly caPrivateKeyPem: string;
}

export interface IssuedOutputs {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly notAfter: string;
}

/** Inputs whose change means a new certificate (CA key changes follow the CA certificate). */
export const REISSUE_KEYS = [
  "commonName",
  "organizations",
  "usage",
  "dnsNames",
  "ipAddresses",
  "algorithm",
  "validityDays",
  "rotation",
  "caCertificatePem",
] as const;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface CertificateDiff {
  readonly changes: boolean;
  /** The inputs that changed, or "notAfter" when the certificate is due for renewal. */
  readonly reasons: string[];
}

/** Whether a stored certificate must be reissued: inputs changed, or expiry within renewBeforeDays. */
export function diffCertificate(olds: Omit<CertificateInputs, "caPrivateKeyPem"> & IssuedOutputs, news: CertificateInputs, now: Date = new Date()): CertificateDiff {
  const reasons: string[] = REISSUE_KEYS.filter((k) => !same(olds[k], news[k]));
  if (Date.parse(olds.notAfter) - now.getTime() <= news.renewBeforeDays * DAY_MS) reasons.push("notAfter");
  return { changes: reasons.length > 0, reasons };
}

export function diffCa(olds: CaInputs, news: CaInputs): CertificateDiff {
  // CAs persist: only a new name or key algorithm makes a new CA (see docs/pki.md on CA rotation).
  const reasons = (["commonName", "algorithm"] as const).filter((k) => olds[k] !== news[k]);
  return { changes: reasons.length > 0, reasons };
}

export function issueFromInputs(inputs: CertificateInputs, now?: Date): IssuedOutputs {
  const issued = issueCertificate(
    {
      subject: { commonName: inputs.commonName, organizations: inputs.organizations },
      usage: inputs.usage,
      altNames: { dns: inputs.dnsNames, ips: inputs.ipAddresses },
      algorithm: inputs.algorithm,
      validityDays: inputs.validityDays,
      now,
    },
    { certificatePem: inputs.caCertificatePem, privateKeyPem: inputs.caPrivateKeyPem },
  );
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, notAfter: issued.notAfter };
}

export function issueCaFromInputs(inputs: CaInputs): IssuedOutputs {
  const issued = issueCertificate({ subject: { commonName: inputs.commonName }, usage: "ca", algorithm: inputs.algorithm, validityDays: inputs.validityDays }, null);
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, notAfter: issued.notAfter };
}

const newId = () => randomBytes(8).toString("hex");

export const caProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: CaInputs) {
    return { id: newId(), outs: { ...inputs, ...issueCaFromInputs(inputs) } };
  },
  async diff(_id: string, olds: CaInputs & IssuedOutputs, news: CaInputs) {
    const d = diffCa(olds, news);
    return { changes: d.changes, replaces: d.reasons, deleteBeforeReplace: false };
  },
};

/** What a certificate resource takes on the wire: the request as one property, the CA key apart (secret). */
export interface CertificateResourceInputs {
  readonly request: Omit<CertificateInputs, "caPrivateKeyPem">;
  readonly caPrivateKeyPem: string;
}

type CertificateState = { readonly request: Omit<CertificateInputs, "caPrivateKeyPem"> } & IssuedOutputs;

const flatten = (news: CertificateResourceInputs): CertificateInputs => ({ ...news.request, caPrivateKeyPem: news.caPrivateKeyPem });

/** State keeps the request diff compares, never the CA key (update gets it from the new inputs). */
function certificateState(inputs: CertificateInputs, issued: IssuedOutputs): CertificateState {
  const { caPrivateKeyPem: _caKey, ...request } = inputs;
  return { request, ...issued };
}

export const certificateProvider: pulumi.dynamic.ResourceProvider = {
  async create(news: CertificateResourceInputs) {
    return { id: newId(), outs: certificateState(flatten(news), issueFromInputs(flatten(news))) };
  },
  async diff(_id: string, olds: CertificateState, news: CertificateResourceInputs) {
    const d = diffCertificate({ ...olds.request, ...olds }, flatten(news));
    return { changes: d.changes, replaces: [], stables: [], deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: CertificateState, news: CertificateResourceInputs) {
    return { outs: certificateState(flatten(news), issueFromInputs(flatten(news))) };
  },
};

export interface PrivateKeyInputs {
  readonly algorithm: KeyAlgorithm;
}

export const privateKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: PrivateKeyInputs) {
    const key = generatePrivateKey(inputs.algorithm);
    return { id: newId(), outs: { ...inputs, privateKeyPem: key.privateKeyPem, publicKeyPem: publicKeyPem(key.privateKeyPem) } };
  },
  async diff(_id: string, olds: PrivateKeyInputs, news: PrivateKeyInputs) {
    return { changes: olds.algorithm !== news.algorithm, replaces: olds.algorithm !== news.algorithm ? ["algorithm"] : [] };
  },
};

export interface RandomKeyInputs {
  readonly bytes: number;
}

export const randomKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RandomKeyInputs) {
    return { id: newId(), outs: { ...inputs, keyBase64: randomBytes(inputs.bytes).toString("base64") } };
  },
  async diff(_id: string, olds: RandomKeyInputs, news: RandomKeyInputs) {
    return { changes: olds.bytes !== news.bytes, replaces: olds.bytes !== news.bytes ? ["bytes"] : [] };
  },
};

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };
const SECRET_KEY = { additionalSecretOutputs: ["privateKeyPem", "caPrivateKeyPem"] };

export class CertificateAuthority extends pulumi.dynamic.Resource {
  declare readonly certificatePem: pulumi.Output<string>;
  declare readonly privateKeyPem: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  constructor(name: string, args: Inputs<CaInputs>, opts?: pulumi.CustomResourceOptions) {
    super(caProvider, name, { ...args, certificatePem: undefined, privateKeyPem: undefined, notAfter: undefined }, pulumi.mergeOptions(opts, SECRET_KEY), "drydock", "CertificateAuthority");
  }
}

export class Certificate extends pulumi.dynamic.Resource {
  declare readonly certificatePem: pulumi.Output<string>;
  declare readonly privateKeyPem: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  constructor(name: string, args: Inputs<CertificateInputs>, opts?: pulumi.CustomResourceOptions) {
    // The request travels as one property: a node's certificates are a few
    // resources each, and every property is an Output the SDK tracks.
    const { caPrivateKeyPem, ...request } = args;
    super(certificateProvider, name, { request, caPrivateKeyPem: pulumi.secret(caPrivateKeyPem), certificatePem: undefined, privateKeyPem: undefined, notAfter: undefined }, pulumi.mergeOptions(opts, SECRET_KEY), "drydock", "Certificate");
  }
}

export class PrivateKey extends pulumi.dynamic.Resource {
  declare readonly privateKeyPem: pulumi.Output<string>;
  declare readonly publicKeyPem: pulumi.Output<string>;
  constructor(name: string, args: Inputs<PrivateKeyInputs>, opts?: pulumi.CustomResourceOptions) {
    super(privateKeyProvider, name, { ...args, privateKeyPem: undefined, publicKeyPem: undefined }, pulumi.mergeOptions(opts, SECRET_KEY), "drydock", "PrivateKey");
  }
}

export class RandomKey extends pulumi.dynamic.Resource {
  declare readonly keyBase64: pulumi.Output<string>;
  constructor(name: string, args: Inputs<RandomKeyInputs>, opts?: pulumi.CustomResourceOptions) {
    super(randomKeyProvider, name, { ...args, keyBase64: undefined }, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["keyBase64"] }), "drydock", "RandomKey");
  }
}

/** What the guard keeps: the deployed versions, and the Kubernetes version this run upgrades from. */
export interface GuardState extends DeployedVersions {
  /** Set by the run that changes kubernetes.version (workers then go in batches); null otherwise. */
  readonly upgradingFrom: string | null;
}

/** Remembers the deployed versions; refuses version changes a running cluster cannot take. */
export const versionGuardProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<DeployedVersions>, news: DeployedVersions) {
    if (!olds.kubernetes || !olds.etcd) return { inputs: news };
    const problems = upgradeProblems({ kubernetes: olds.kubernetes, etcd: olds.etcd }, news);
    return { inputs: news, failures: problems.map((p) => ({ property: p.path, reason: `${p.path}: ${p.message}` })) };
  },
  async create(inputs: DeployedVersions) {
    return { id: newId(), outs: { ...inputs, upgradingFrom: null } satisfies GuardState };
  },
  // A run after an upgrade clears upgradingFrom, so later runs (adding workers) are not batched.
  async diff(_id: string, olds: GuardState, news: DeployedVersions) {
    return { changes: olds.kubernetes !== news.kubernetes || olds.etcd !== news.etcd || Boolean(olds.upgradingFrom) };
  },
  async update(_id: string, olds: GuardState, news: DeployedVersions) {
    return { outs: { ...news, upgradingFrom: olds.kubernetes !== news.kubernetes ? olds.kubernetes : null } satisfies GuardState };
  },
};

export class VersionGuard extends pulumi.dynamic.Resource {
  declare readonly kubernetes: pulumi.Output<string>;
  declare readonly etcd: pulumi.Output<string>;
  declare readonly upgradingFrom: pulumi.Output<string | null>;
  constructor(name: string, args: DeployedVersions, opts?: pulumi.CustomResourceOptions) {
    super(versionGuardProvider, name, { ...args, upgradingFrom: undefined }, opts, "drydock", "VersionGuard");
  }
}
