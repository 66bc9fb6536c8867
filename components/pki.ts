// The cluster PKI in Pulumi: one resource per CA, certificate and key, so a
// change reissues exactly what it touches and `pulumi preview` names it.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../spec/normalize";
import type { AddressPlan } from "../spec/addresses";
import { CA_IDS, CA_SUBJECTS, certificateInventory, resolveAltNames, type CaId } from "../pki/inventory";
import type { PkiMaterial } from "../pki/issue";
import type { IssuedCertificate } from "../pki/x509";
import { Certificate, CertificateAuthority, PrivateKey, RandomKey } from "./providers";

export interface PkiArgs {
  readonly spec: ClusterSpec;
  readonly addresses: AddressPlan;
  /** Host of the API endpoint (an NLB's DNS name may be known only after creation). */
  readonly apiEndpointHost: pulumi.Input<string>;
}

/** Resource names hold no secrets: "<cluster>-<certificate id>". */
function resourceName(cluster: string, id: string): string {
  return `${cluster}-${id.replace("@", "-")}`;
}

function issued(r: CertificateAuthority | Certificate): pulumi.Output<IssuedCertificate> {
  return pulumi.all([r.certificatePem, r.privateKeyPem, r.notAfter]).apply(([certificatePem, privateKeyPem, notAfter]) => ({ certificatePem, privateKeyPem, notBefore: "", notAfter }));
}

export class Pki extends pulumi.ComponentResource {
  readonly cas: Readonly<Record<CaId, CertificateAuthority>>;
  readonly certificates: Readonly<Record<string, Certificate>>;
  readonly serviceAccountKey: PrivateKey;
  readonly encryptionKey: RandomKey;
  /** The CAs, service-account key and encryption key every host's material holds. */
  private readonly shared: pulumi.Output<[Record<string, IssuedCertificate>, string, string]>;

  constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("drydock:index:Pki", name, {}, opts);
    const { spec } = args;
    const inventory = certificateInventory(spec, args.addresses);
    const child = { parent: this };

    const cas = {} as Record<CaId, CertificateAuthority>;
    for (const id of CA_IDS) {
      cas[id] = new CertificateAuthority(
        resourceName(spec.name, id),
        { commonName: CA_SUBJECTS[id].commonName, algorithm: inventory.algorithm, validityDays: inventory.caValidityDays },
        child,
      );
    }
    const certificates: Record<string, Certificate> = {};
    for (const cert of inventory.certificates) {
      const ca = cas[cert.ca];
      // Plain values where the names are known: every Output costs the SDK kilobytes, per node.
      const names = cert.altNames.apiEndpoint ? pulumi.output(args.apiEndpointHost).apply((host) => resolveAltNames(cert.altNames, host)) : resolveAltNames(cert.altNames, null);
      certificates[cert.id] = new Certificate(
        resourceName(spec.name, cert.id),
        {
          commonName: cert.subject.commonName,
          organizations: [...(cert.subject.organizations ?? [])],
          usage: cert.usage,
          dnsNames: names.dns,
          ipAddresses: names.ips,
          algorithm: inventory.algorithm,
          validityDays: inventory.certValidityDays,
          renewBeforeDays: spec.pki.renewBeforeDays,
          rotation: spec.pki.rotation,
          caCertificatePem: ca.certificatePem,
          caPrivateKeyPem: ca.privateKeyPem,
        },
        child,
      );
    }
    this.cas = cas;
    this.certificates = certificates;
    this.serviceAccountKey = new PrivateKey(resourceName(spec.name, "service-account-key"), { algorithm: inventory.algorithm }, child);
    this.encryptionKey = new RandomKey(resourceName(spec.name, "encryption-key"), { bytes: 32 }, child);
    // Every host's material reads the same CAs and keys: made once, shared.
    this.shared = pulumi.all([pulumi.all(Object.fromEntries(CA_IDS.map((id) => [id, issued(cas[id])]))), this.serviceAccountKey.privateKeyPem, this.encryptionKey.keyBase64]);
    this.registerOutputs({});
  }

  /**
   * Material as one secret value, in the shape the host renderers take: every
   * certificate, or only those named (a host's own), so what reads it depends on
   * those resources alone rather than on the whole cluster's PKI.
   */
  material(certificateIds: readonly string[] = Object.keys(this.certificates)): pulumi.Output<PkiMaterial> {
    const certs = pulumi.all(Object.fromEntries(certificateIds.map((id) => [id, issued(this.certificates[id]!)])));
    return pulumi.secret(
      pulumi.all([this.shared, certs]).apply(([[cas, sa, key], certificates]) => ({
        cas: cas as Record<CaId, IssuedCertificate>,
        certificates,
        serviceAccountKeyPem: sa,
        encryptionKey: key,
      })),
    );
  }
}
