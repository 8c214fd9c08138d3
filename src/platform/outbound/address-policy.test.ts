import { describe, expect, it } from 'vitest';
import { refusalForAddress } from './address-policy';

// [address, a fragment the reason must contain]
const refused: [string, string][] = [
  ['0.0.0.0', 'this network'],
  ['0.1.2.3', 'this network'],
  ['10.0.0.1', '10.0.0.0/8'],
  ['10.255.255.255', '10.0.0.0/8'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.254', '100.64.0.0/10'],
  ['127.0.0.1', 'loopback (127.0.0.0/8)'],
  ['127.255.255.254', 'loopback'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', '169.254.0.0/16'],
  ['172.16.0.1', '172.16.0.0/12'],
  ['172.31.255.255', '172.16.0.0/12'],
  ['192.0.0.8', '192.0.0.0/24'],
  ['192.0.2.1', 'documentation (192.0.2.0/24)'],
  ['192.88.99.1', '6to4 relay'],
  ['192.168.1.1', '192.168.0.0/16'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', '198.18.0.0/15'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::ffff:127.0.0.1', 'IPv4-mapped'],
  ['::ffff:7f00:1', 'IPv4-mapped'],
  ['::ffff:a9fe:a9fe', 'link-local'],
  ['::ffff:10.0.0.1', '10.0.0.0/8'],
  ['::127.0.0.1', 'IPv4-compatible'],
  ['::8.8.8.8', 'IPv4-compatible'],
  ['64:ff9b::a00:1', 'NAT64'],
  ['64:ff9b::7f00:1', 'NAT64'],
  ['64:ff9b:1::8.8.8.8', 'NAT64'],
  ['2002:a00:1::', '6to4'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:c0a8:101::1', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001:2::1', 'IETF protocol assignments'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['fc00::1', 'unique local'],
  ['fd00::1', 'unique local'],
  ['fe80::1', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['100::1', 'discard'],
  ['1::1', 'outside global unicast'],
  ['4000::1', 'outside global unicast'],
  ['fe80::1%eth0', 'zone id'],
  ['', 'not an IP address'],
  ['localhost', 'not an IP address'],
  ['127.1', 'not an IP address'],
  ['0177.0.0.1', 'not an IP address'],
  ['0x7f000001', 'not an IP address'],
  ['2130706433', 'not an IP address'],
  ['256.1.1.1', 'not an IP address'],
  ['1.2.3.4.5', 'not an IP address'],
  ['[::1]', 'not an IP address'],
  ['1:2:3:4:5:6:7:8:9', 'not an IP address'],
  ['1::2::3', 'not an IP address'],
  [':::', 'not an IP address'],
  ['12345::1', 'not an IP address'],
  ['::ffff:1.2.3', 'not an IP address'],
  ['1:2:3:4:5:6:7::8', 'not an IP address'],
];

const allowed = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.1',
  '192.0.1.1',
  '192.169.0.1',
  '198.17.255.255',
  '198.20.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:80b::200e',
  '::ffff:8.8.8.8',
  '::FFFF:0808:0808',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '2001:200::1',
  '2606:4700:4700:0:0:0:0:1111',
];

describe('refusalForAddress', () => {
  it.each(refused)('refuses %j (%s)', (address, fragment) => {
    expect(refusalForAddress(address)).toContain(fragment);
  });

  it.each(allowed)('allows %s', (address) => {
    expect(refusalForAddress(address)).toBeNull();
  });

  it('names the unwrapped IPv4 address of a mapped one', () => {
    expect(refusalForAddress('::ffff:127.0.0.1')).toBe('IPv4-mapped (::ffff:0:0/96) of 127.0.0.1: loopback (127.0.0.0/8)');
  });
});
