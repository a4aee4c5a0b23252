/**
 * The unit of per-address limits: an IPv4 address, or an IPv6 address's /64 prefix. One IPv6
 * subscriber gets a whole /64 (2^64 addresses), so counting single IPv6 addresses would let one
 * client take a fresh address per request past every per-address limit.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function addressGroup(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const lower = ip.toLowerCase().replace(/%.*$/, '');
  // An IPv4 client on a dual-stack socket (::ffff:203.0.113.9) is that IPv4 address.
  const mapped = /^(?:0{0,4}:){0,5}ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  const v4 = mapped?.[1];
  if (v4 !== undefined && isIPv4(v4)) return v4;
  const [head = '', tail] = lower.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (…:1.2.3.4) stands for two groups; it only ever lands in the last 64 bits.
  const width = right.reduce((w, g) => w + (g.includes('.') ? 2 : 1), 0);
  const zeros = Array<string>(Math.max(0, 8 - left.length - width)).fill('0');
  const groups = tail === undefined ? left : [...left, ...zeros, ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g.includes('.') ? g : g.replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}
