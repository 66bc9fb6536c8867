// The aws snapshot upload with real etcd and real curl: the rendered snapshot
// script takes the instance role's credentials from (a stand-in for) IMDSv2 and
// PUTs the verified snapshot to (a stand-in for) S3, which checks the request's
// SigV4 signature the way S3 does. A refused upload fails the run.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planAddresses } from "../../spec/addresses";
import { etcdMembers } from "../../hosts/etcd";
import { snapshotScript } from "../../hosts/etcd-backup";
import { ProcessGroup, etcdClient, etcdctlWith, renderToTemp, requireBinaries, runAsync, waitFor, writeLocalEtcdConfig, hostsSpec } from "./helpers";

before(() => requireBinaries("etcd", "etcdctl", "curl"));

const CREDS = { AccessKeyId: "ASIATESTKEY0000000001", SecretAccessKey: "test/secret+key/0000000000000000000000", Token: "session-token-for-tests" };
const REGION = "eu-west-1";

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Verifies an S3 request's SigV4 signature; returns why it fails, or null. */
function sigv4Problem(req: IncomingMessage, body: Buffer): string | null {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(String(req.headers.authorization));
  if (!auth) return `malformed Authorization: ${req.headers.authorization}`;
  const [, keyId, date, region, signedHeaders, signature] = auth;
  if (keyId !== CREDS.AccessKeyId || region !== REGION) return `wrong key or region: ${keyId} ${region}`;
  const payloadHash = String(req.headers["x-amz-content-sha256"]);
  if (payloadHash !== sha256(body)) return "x-amz-content-sha256 does not match the body";
  const names = signedHeaders!.split(";");
  for (const required of ["host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]) if (!names.includes(required)) return `${required} not signed`;
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [req.method, req.url!.split("?")[0], req.url!.split("?")[1] ?? "", canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const amzDate = String(req.headers["x-amz-date"]);
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${CREDS.SecretAccessKey}`, date!), region!), "s3"), "aws4_request");
  return hmac(key, toSign).toString("hex") === signature ? null : "signature does not match";
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

test("aws: each verified snapshot is uploaded with the instance role, SigV4-signed, encrypted; a refused upload fails the run", async () => {
  const spec = hostsSpec({
    name: "upload",
    hosts: [
      { name: "etcd-1", address: "127.0.0.111", roles: ["etcd"] },
      { name: "cp-1", address: "127.0.0.112", roles: ["controlPlane"] },
    ],
  });
  const r = renderToTemp(spec);
  const work = mkdtempSync(join(tmpdir(), "drydock-upload-"));
  const procs = new ProcessGroup();
  const [member] = etcdMembers(planAddresses(spec).hosts);
  const pki = r.host("etcd-1", "/etc/kubernetes/pki/etcd");

  const imdsRequests: string[] = [];
  const imds = createServer((req, res) => {
    imdsRequests.push(`${req.method} ${req.url}`);
    const answer = (): [number, string] => {
      if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return [200, "imds-token"];
      if (req.headers["x-aws-ec2-metadata-token"] !== "imds-token") return [401, ""];
      if (req.url === "/latest/meta-data/iam/security-credentials/") return [200, "drydock-etcd\n"];
      if (req.url === "/latest/meta-data/iam/security-credentials/drydock-etcd") return [200, JSON.stringify({ Code: "Success", Type: "AWS-HMAC", ...CREDS, Expiration: "2099-01-01T00:00:00Z" }, null, 2)];
      return [404, ""];
    };
    const [status, body] = answer();
    res.writeHead(status).end(body);
  });
  const uploads: { path: string; body: Buffer; headers: IncomingMessage["headers"]; problem: string | null }[] = [];
  let refuse = false;
  const s3 = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const problem = sigv4Problem(req, body);
      uploads.push({ path: req.url!, body, headers: req.headers, problem });
      res.writeHead(refuse ? 403 : problem ? 403 : 200).end(refuse ? "<Error><Code>AccessDenied</Code></Error>" : "");
    });
  });
  try {
    writeLocalEtcdConfig(spec, member!, [member!], pki, join(work, "etcd-1"));
    procs.start("etcd", [`--config-file=${join(work, "etcd-1", "etcd.conf.yml")}`]);
    const etcdctl = etcdctlWith("https://127.0.0.111:2379", etcdClient(pki, "healthcheck-client"));
    await waitFor("etcd", () => etcdctl("endpoint", "health").code === 0, 150, 200);
    assert.equal(etcdctl("put", "/k", "v").code, 0);

    const script = join(work, "snapshot.sh");
    writeFileSync(script, snapshotScript(spec, member!, { bucket: "upload-etcd-snapshots", region: REGION }));
    const snapshots = join(work, "snapshots");
    const env = { SNAPSHOT_DIR: snapshots, ETCD_PKI_DIR: pki, ETCD_ENDPOINT: "https://127.0.0.111:2379", SNAPSHOT_IMDS: await listen(imds), SNAPSHOT_S3_ENDPOINT: await listen(s3) };
    const runSnapshot = () => runAsync("env", [...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", script], { timeoutMs: 60_000 });

    const ok = await runSnapshot();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(uploads.length, 1);
    const [upload] = uploads;
    assert.equal(upload!.problem, null, "S3 accepts the signature");
    const local = readdirSync(snapshots).filter((f) => f.endsWith(".db"));
    assert.equal(upload!.path, `/etcd/etcd-1/${local[0]}`);
    assert.deepEqual(upload!.body, readFileSync(join(snapshots, local[0]!)), "the verified snapshot, byte for byte");
    assert.equal(upload!.headers["x-amz-security-token"], CREDS.Token);
    assert.equal(upload!.headers["x-amz-server-side-encryption"], "AES256");
    assert.deepEqual(imdsRequests.slice(0, 3), ["PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/", "GET /latest/meta-data/iam/security-credentials/drydock-etcd"], "IMDSv2: a session token first");
    assert.match(ok.stdout, /uploaded .* to s3:\/\/upload-etcd-snapshots\/etcd\/etcd-1\//);

    refuse = true;
    const refused = await runSnapshot();
    assert.notEqual(refused.code, 0, "a refused upload fails the snapshot run (and so its unit)");
    assert.match(refused.stderr, /403/);
    assert.equal(readdirSync(snapshots).filter((f) => f.endsWith(".db")).length, 2, "the local snapshot is kept");
  } finally {
    await procs.stopAll();
    imds.close();
    s3.close();
    rmSync(work, { recursive: true, force: true });
    r.cleanup();
  }
});
