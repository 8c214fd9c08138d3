/**
 * Which IP addresses a tenant-supplied URL may reach. Deny by range (IANA special-purpose
 * registries); for IPv6, everything outside global unicast 2000::/3 is refused as well, so an
 * unlisted reserved range fails closed.
 */

type Range4 = { net: number; len: number; reason: string };
type Range6 = { net: bigint; len: number; reason: string };

function range4(cidr: string, what: string): Range4 {
  const [addr, len] = cidr.split('/') as [string, string];
  return { net: parseIPv4(addr)!, len: Number(len), reason: `${what} (${cidr})` };
}

function range6(cidr: string, what: string): Range6 {
  const [addr, len] = cidr.split('/') as [string, string];
  return { net: toBigInt(parseIPv6(addr)!), len: Number(len), reason: `${what} (${cidr})` };
}

// First match wins: the broadcast address must come before 240.0.0.0/4.
const REFUSED_V4: Range4[] = [
  range4('0.0.0.0/8', '"this network"'),
  range4('10.0.0.0/8', 'private'),
  range4('100.64.0.0/10', 'carrier-grade NAT'),
  range4('127.0.0.0/8', 'loopback'),
  range4('169.254.0.0/16', 'link-local, incl. cloud metadata'),
  range4('172.16.0.0/12', 'private'),
  range4('192.0.0.0/24', 'IETF protocol assignments'),
  range4('192.0.2.0/24', 'documentation'),
  range4('192.88.99.0/24', '6to4 relay anycast'),
  range4('192.168.0.0/16', 'private'),
  range4('198.18.0.0/15', 'benchmarking'),
  range4('198.51.100.0/24', 'documentation'),
  range4('203.0.113.0/24', 'documentation'),
  range4('224.0.0.0/4', 'multicast'),
  range4('255.255.255.255/32', 'broadcast'),
  range4('240.0.0.0/4', 'reserved'),
];

// Ranges that embed an IPv4 address are judged in refusalForIPv6 before this table.
const REFUSED_V6: Range6[] = [
  range6('::/128', 'unspecified'),
  range6('::1/128', 'loopback'),
  range6('::/96', 'IPv4-compatible, deprecated'),
  range6('64:ff9b:1::/48', 'local-use NAT64'),
  range6('100::/64', 'discard'),
  range6('2001::/32', 'Teredo'),
  range6('2001::/23', 'IETF protocol assignments'),
  range6('2001:db8::/32', 'documentation'),
  range6('3fff::/20', 'documentation'),
  range6('fc00::/7', 'unique local'),
  range6('fe80::/10', 'link-local'),
  range6('fec0::/10', 'site-local, deprecated'),
  range6('ff00::/8', 'multicast'),
];

const GLOBAL_UNICAST_V6 = range6('2000::/3', 'global unicast');
const MAPPED = range6('::ffff:0:0/96', 'IPv4-mapped');
const NAT64 = range6('64:ff9b::/96', 'NAT64');
const SIXTO4 = range6('2002::/16', '6to4');

/** null when the address is public unicast; otherwise a short human reason, e.g. "loopback (127.0.0.0/8)". */
export function refusalForAddress(ip: string): string | null {
  const v4 = parseIPv4(ip);
  if (v4 !== null) return refusalForIPv4(v4);
  // A zone id pins the address to a local interface: never a public destination.
  if (ip.includes('%')) return 'scoped address with a zone id';
  const v6 = parseIPv6(ip);
  if (v6 !== null) return refusalForIPv6(toBigInt(v6));
  return 'not an IP address';
}

function refusalForIPv4(addr: number): string | null {
  for (const r of REFUSED_V4) if (addr >>> (32 - r.len) === r.net >>> (32 - r.len)) return r.reason;
  return null;
}

function refusalForIPv6(addr: bigint): string | null {
  const low32 = Number(addr & 0xffff_ffffn);
  // These carry an IPv4 address the packet really goes to (or may): judge that one.
  if (in6(addr, MAPPED)) return embedded(MAPPED, low32);
  if (in6(addr, NAT64)) return embedded(NAT64, low32);
  if (in6(addr, SIXTO4)) return embedded(SIXTO4, Number((addr >> 80n) & 0xffff_ffffn));
  for (const r of REFUSED_V6) if (in6(addr, r)) return r.reason;
  if (!in6(addr, GLOBAL_UNICAST_V6)) return 'reserved (outside global unicast 2000::/3)';
  return null;
}

function embedded(range: Range6, v4: number): string | null {
  const refusal = refusalForIPv4(v4);
  return refusal === null ? null : `${range.reason} of ${formatIPv4(v4)}: ${refusal}`;
}

function in6(addr: bigint, r: Range6): boolean {
  const shift = BigInt(128 - r.len);
  return addr >> shift === r.net >> shift;
}

/** Strict dotted quad; leading zeros are refused because some parsers read them as octal. */
function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a dotted IPv4 tail. */
function parseIPv6(s: string): number[] | null {
  const lastColon = s.lastIndexOf(':');
  if (lastColon === -1) return null;
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const all = [...head, ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return null;
  const zeros: string[] = Array(8 - all.length).fill('0');
  return [...head, ...zeros, ...rest].map((g) => parseInt(g, 16));
}

function toBigInt(groups: number[]): bigint {
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}
