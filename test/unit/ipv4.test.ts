import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrsOverlap, formatCidr, formatIPv4, nthAddress, parseCidr, parseIPv4, subnet } from "../../spec/ipv4";

test("parses and formats addresses", () => {
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("255.255.255.255"), 2 ** 32 - 1);
  assert.equal(formatIPv4(parseIPv4("10.96.0.10")!), "10.96.0.10");
  for (const bad of ["256.0.0.1", "1.2.3", "01.2.3.4", "a.b.c.d", "1.2.3.4.5", ""]) assert.equal(parseIPv4(bad), null, bad);
});

test("parses CIDRs and refuses host bits", () => {
  assert.deepEqual(parseCidr("10.244.0.0/16"), { base: parseIPv4("10.244.0.0"), prefix: 16 });
  assert.equal(parseCidr("10.244.0.1/16"), null);
  assert.equal(parseCidr("10.0.0.0/33"), null);
  assert.equal(parseCidr("10.0.0.0"), null);
  assert.equal(formatCidr(parseCidr("0.0.0.0/0")!), "0.0.0.0/0");
});

test("overlap, subnets and nth address", () => {
  const a = parseCidr("10.96.0.0/12")!;
  assert.ok(cidrsOverlap(a, parseCidr("10.100.0.0/16")!));
  assert.ok(!cidrsOverlap(a, parseCidr("10.112.0.0/16")!));
  assert.equal(formatCidr(subnet(parseCidr("10.244.0.0/16")!, 24, 255)), "10.244.255.0/24");
  assert.throws(() => subnet(parseCidr("10.244.0.0/16")!, 24, 256));
  assert.equal(formatIPv4(nthAddress(a, 1)), "10.96.0.1");
  assert.throws(() => nthAddress(parseCidr("10.0.0.0/30")!, 4));
});
