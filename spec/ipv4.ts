// IPv4 address and CIDR arithmetic. Addresses are unsigned 32-bit numbers.

export interface Cidr {
  /** Network address (host bits zero). */
  readonly base: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join(".");
}

export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== null;
}

/** Parses "a.b.c.d/n"; host bits must be zero so the written range is the real one. */
export function parseCidr(text: string): Cidr | null {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return null;
  const addr = parseIPv4(match[1]!);
  const prefix = Number(match[2]);
  if (addr === null || prefix > 32) return null;
  if (addr % blockSize(prefix) !== 0) return null;
  return { base: addr, prefix };
}

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return blockSize(cidr.prefix);
}

export function lastAddress(cidr: Cidr): number {
  return cidr.base + cidrSize(cidr) - 1;
}

export function cidrContains(cidr: Cidr, addr: number): boolean {
  return addr >= cidr.base && addr <= lastAddress(cidr);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

/** The nth address of a CIDR (0 is the network address). */
export function nthAddress(cidr: Cidr, n: number): number {
  if (n < 0 || n >= cidrSize(cidr)) {
    throw new RangeError(`address ${n} is outside ${formatCidr(cidr)}`);
  }
  return cidr.base + n;
}

/** The index-th sub-block of length newPrefix inside cidr. */
export function subnet(cidr: Cidr, newPrefix: number, index: number): Cidr {
  const count = 2 ** (newPrefix - cidr.prefix);
  if (newPrefix < cidr.prefix || index < 0 || index >= count) {
    throw new RangeError(`no subnet ${index} of /${newPrefix} in ${formatCidr(cidr)}`);
  }
  return { base: cidr.base + index * blockSize(newPrefix), prefix: newPrefix };
}
