// kubeconfig files (clientcmd v1 Config) with embedded certificates.
import { stringify } from "yaml";

export interface KubeconfigInput {
  readonly clusterName: string;
  /** https://host:port */
  readonly server: string;
  readonly caCertificatePem: string;
  readonly userName: string;
  readonly clientCertificatePem: string;
  readonly clientKeyPem: string;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function apiServerUrl(host: string, port: number): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function kubeconfig(input: KubeconfigInput): string {
  const context = `${input.userName}@${input.clusterName}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: input.clusterName, cluster: { server: input.server, "certificate-authority-data": b64(input.caCertificatePem) } }],
    users: [
      {
        name: input.userName,
        user: { "client-certificate-data": b64(input.clientCertificatePem), "client-key-data": b64(input.clientKeyPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster: input.clusterName, user: input.userName } }],
    "current-context": context,
    preferences: {},
  });
}
