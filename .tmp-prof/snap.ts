import { snapshotScript } from "../hosts/etcd-backup";
import { requireSpec, validateSpec } from "../spec";
import { awsBase } from "../test/helpers";
const spec = requireSpec(validateSpec(awsBase()));
process.stdout.write(snapshotScript(spec, { name: "etcd-1", address: "10.0.0.1", roles: ["etcd"] } as any, { bucket: "b-1", region: "eu-west-1" }));
