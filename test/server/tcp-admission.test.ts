import { describe, expect, it } from 'vitest';
import { admit, sourceKey, type Slot } from '../../src/server/tcp-admission.js';

describe('sourceKey: what --tcp-per-source counts as one source', () => {
  it('an IPv4 address is a source of its own, as is the IPv4 address an IPv4-mapped IPv6 address stands for', () => {
    expect(sourceKey('192.0.2.1')).toBe('192.0.2.1');
    expect(sourceKey('192.0.2.2')).not.toBe(sourceKey('192.0.2.1'));
    expect(sourceKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('every IPv6 address of one /64 is one source, whatever its spelling; another /64 is another', () => {
    const key = sourceKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe(key);
    expect(sourceKey('2001:0db8:0001:0002:a:b:c:d')).toBe(key);
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(key);
    expect(sourceKey('2001:db8:1:2::1%lo')).toBe('2001:db8:1:2::1%lo'); // not an address we read: itself
    expect(sourceKey('::1')).toBe('::/64');
  });

  it('with the limit reached by one /64, a newcomer from another address of it is refused', () => {
    const counts = new Map<string, number>();
    for (let i = 1; i <= 3; i++) {
      const k = sourceKey(`2001:db8::${i.toString(16)}`);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const open: Slot[] = [];
    const ask = (address: string) => admit(open, 3, 100, () => false, counts.get(sourceKey(address)) ?? 0, 3);
    expect(ask('2001:db8::99')).toBe('refuse');
    expect(ask('2001:db8:0:1::1')).toBe('accept');
  });
});
