// EncryptionConfiguration (apiserver.config.k8s.io/v1) for Secrets at rest.
import { stringify } from "yaml";

export type EncryptionProvider = "secretbox" | "aescbc" | "none";

export const ENCRYPTION_KEY_NAME = "drydock-1";

/** The config object, or null when encryption at rest is off. */
export function encryptionConfiguration(provider: EncryptionProvider, keyBase64: string): Record<string, unknown> | null {
  if (provider === "none") return null;
  return {
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "EncryptionConfiguration",
    resources: [
      {
        resources: ["secrets"],
        // identity last: Secrets written before encryption was enabled stay readable.
        providers: [{ [provider]: { keys: [{ name: ENCRYPTION_KEY_NAME, secret: keyBase64 }] } }, { identity: {} }],
      },
    ],
  };
}

export function encryptionConfigurationYaml(provider: EncryptionProvider, keyBase64: string): string | null {
  const config = encryptionConfiguration(provider, keyBase64);
  return config ? stringify(config) : null;
}
