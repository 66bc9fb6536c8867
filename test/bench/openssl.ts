// A shell script that makes the same certificate set with the openssl command
// line (what a hand-rolled "hard way" PKI does): the benchmark's baseline.
import { CA_IDS, CA_SUBJECTS, resolveAltNames, type PkiInventory } from "../../pki/inventory";
import { shellQuote as q } from "../../hosts/shell";

const subj = (cn: string, orgs: readonly string[] = []) => [...orgs.map((o) => `/O=${o}`), `/CN=${cn}`].join("");

export function opensslScript(inventory: PkiInventory, apiEndpointHost: string): string {
  if (inventory.algorithm !== "ecdsa-p256") throw new Error("the openssl baseline covers ecdsa-p256");
  const lines = ["set -e", "genkey() { openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out \"$1\"; }"];
  for (const id of CA_IDS) {
    lines.push(`genkey ${id}.key`);
    lines.push(`openssl req -x509 -new -key ${id}.key -subj ${q(subj(CA_SUBJECTS[id].commonName))} -days ${inventory.caValidityDays} -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ${id}.crt`);
  }
  inventory.certificates.forEach((cert, i) => {
    const eku = cert.usage === "server" ? "serverAuth" : cert.usage === "client" ? "clientAuth" : "serverAuth,clientAuth";
    const sans = resolveAltNames(cert.altNames, apiEndpointHost);
    const ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", `extendedKeyUsage=${eku}`];
    const alt = [...sans.dns.map((d) => `DNS:${d}`), ...sans.ips.map((ip) => `IP:${ip}`)];
    if (alt.length > 0) ext.push(`subjectAltName=${alt.join(",")}`);
    lines.push(`printf '%s\\n' ${ext.map(q).join(" ")} > c${i}.ext`);
    lines.push(`genkey c${i}.key`);
    lines.push(`openssl req -new -key c${i}.key -subj ${q(subj(cert.subject.commonName, cert.subject.organizations))} | openssl x509 -req -CA ${cert.ca}.crt -CAkey ${cert.ca}.key -CAcreateserial -days ${inventory.certValidityDays} -extfile c${i}.ext -out c${i}.crt 2>/dev/null`);
  });
  return `${lines.join("\n")}\n`;
}
