/**
 * name.ts and Reader.name: presentation escapes (RFC 1035 §5.1), canonical order (RFC 4034 §6.1 example),
 * isSubdomain, and hostile decompression.
 */
import { describe, expect, it } from 'vitest';
import { WireError } from '../../src/wire/errors.js';
import {
  canonicalKey,
  compareNames,
  isSubdomain,
  labelCount,
  nameFromLabels,
  nameToText,
  parseName,
  ROOT,
  stripLabels,
  toLower,
  type Name,
} from '../../src/wire/name.js';
import { Reader } from '../../src/wire/reader.js';

describe('presentation', () => {
  const cases: [string, string][] = [
    ['example.com.', 'example.com.'],
    ['Example.COM', 'Example.COM.example.org.'],
    ['a\\.b.example.', 'a\\.b.example.'],
    ['a\\032b.', 'a\\032b.'],
    ['\\065bc.', 'Abc.'],
    ['x\\(y\\)\\;z\\"q\\@\\$\\\\.', 'x\\(y\\)\\;z\\"q\\@\\$\\\\.'],
    ['\\255\\000.', '\\255\\000.'],
    ['@', 'example.org.'],
    ['.', '.'],
    ['*.example.', '*.example.'],
  ];
  const origin = parseName('example.org.');
  for (const [input, want] of cases) {
    it(input, () => expect(nameToText(parseName(input, origin))).toBe(want));
  }
  const bad = ['a..b.', '\\256.', '\\12.', 'a\\', `${'a'.repeat(64)}.`, `${'a.'.repeat(128)}`, 'rel', '..'];
  for (const input of bad) {
    it(`rejects ${input.slice(0, 30)}`, () => expect(() => parseName(input, null)).toThrow(WireError));
  }
});

describe('canonical order (RFC 4034 §6.1)', () => {
  const ordered = [
    'example.',
    'a.example.',
    'yljkjljk.a.example.',
    'Z.a.example.',
    'zABC.a.EXAMPLE.',
    'z.example.',
    '\\001.z.example.',
    '*.z.example.',
    '\\200.z.example.',
  ];
  it('sorts the RFC example', () => {
    const names = ordered.map((n) => parseName(n));
    const shuffled = [...names].reverse();
    shuffled.sort(compareNames);
    expect(shuffled.map(nameToText)).toEqual(ordered);
  });
  it('is case-insensitive', () => {
    expect(compareNames(parseName('A.Example.'), parseName('a.example.'))).toBe(0);
    expect(toLower(parseName('A.Example.')).key).toBe(parseName('a.example.').key);
  });
  it('canonicalKey orders like compareNames, octets 0x00, 0x01, 0xff and prefixes included', () => {
    // Labels from a small alphabet that makes prefixes, equal labels and the escaped octets frequent.
    let seed = 42;
    const rand = (n: number): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
    const octets = [0x00, 0x01, 0x02, 0x41, 0x61, 0x62, 0xff];
    const names: Name[] = [];
    for (let i = 0; i < 400; i++) {
      const ls: Uint8Array[] = [];
      const depth = rand(4);
      for (let d = 0; d < depth; d++)
        ls.push(Uint8Array.from({ length: 1 + rand(3) }, () => octets[rand(octets.length)]!));
      names.push(nameFromLabels([...ls, Uint8Array.of(0x7a), Uint8Array.of(0x63, 0x6f, 0x6d)]));
    }
    const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);
    for (let i = 0; i < names.length; i++)
      for (let j = 0; j < names.length; j += 7) {
        const a = canonicalKey(names[i]!, 2);
        const b = canonicalKey(names[j]!, 2);
        expect(sign(a < b ? -1 : a > b ? 1 : 0), `${nameToText(names[i]!)} vs ${nameToText(names[j]!)}`).toBe(
          sign(compareNames(names[i]!, names[j]!)),
        );
      }
    expect(canonicalKey(parseName('z.com.'), 2)).toBe('');
    expect(canonicalKey(parseName('A.b.'))).toBe('b\0a');
  });
});

describe('label operations', () => {
  it('isSubdomain', () => {
    const n = parseName('www.Example.com.');
    expect(isSubdomain(n, parseName('example.COM.'))).toBe(true);
    expect(isSubdomain(n, n)).toBe(true);
    expect(isSubdomain(n, ROOT)).toBe(true);
    expect(isSubdomain(parseName('wwwexample.com.'), parseName('example.com.'))).toBe(false);
    expect(isSubdomain(parseName('com.'), parseName('example.com.'))).toBe(false);
    expect(isSubdomain(parseName('xexample.com.'), parseName('example.com.'))).toBe(false);
  });
  it('strips labels', () => {
    const n = parseName('a.b.c.');
    expect(labelCount(n)).toBe(3);
    expect(nameToText(stripLabels(n, 1))).toBe('b.c.');
    expect(stripLabels(n, 3)).toBe(ROOT);
  });
});

describe('stored form', () => {
  it('keeps the wire octets and case of every name, shares offsets per label-length pattern, and is frozen', () => {
    const www = parseName('WWW.Example.com.');
    const names = Array.from({ length: 5000 }, (_, i) => parseName(`h${i}.example.com.`));
    const srv = parseName('srv.example.com.');
    expect(Object.isFrozen(www) && Object.isFrozen(www.offsets)).toBe(true);
    expect(srv.offsets).toBe(www.offsets);
    expect(www.offsets).toEqual([0, 4, 12]);
    expect([...www.wire]).toEqual([3, 0x57, 0x57, 0x57, 7, ...Buffer.from('Example'), 3, ...Buffer.from('com'), 0]);
    expect(www.key).toBe('\x03www\x07example\x03com\x00');
    names.forEach((n, i) => expect(nameToText(n)).toBe(`h${i}.example.com.`));
    // More patterns than the shared table holds: the names past it still get their own, correct offsets.
    const deep = Array.from({ length: 5000 }, (_, i) =>
      parseName(`${'a.'.repeat(1 + (i % 97))}x${'y'.repeat(i % 50)}.`),
    );
    deep.forEach((n, i) => expect(nameToText(n)).toBe(`${'a.'.repeat(1 + (i % 97))}x${'y'.repeat(i % 50)}.`));
  });
});

describe('hostile decompression', () => {
  const cases: [string, number[], number][] = [
    ['self pointer', [0xc0, 0x00], 0],
    ['forward pointer', [0xc0, 0x02, 0x00], 0],
    ['two-pointer loop', [0x01, 0x61, 0xc0, 0x04, 0xc0, 0x00], 4],
    ['reserved 0x40', [0x40, 0x00], 0],
    ['reserved 0x80', [0x80, 0x00], 0],
    ['cut label', [0x05, 0x61], 0],
    ['cut pointer', [0xc0], 0],
    ['no root', [0x01, 0x61], 0],
    [
      'over 255 via pointers',
      [
        ...Array.from({ length: 4 }, () => [63, ...new Array<number>(63).fill(0x61)])
          .flat()
          .slice(0, 192),
        0,
        63,
        ...new Array<number>(63).fill(0x62),
        0xc0,
        0x00,
      ],
      193,
    ],
  ];
  for (const [label, bytes, at] of cases) {
    it(label, () => {
      expect(() => new Reader(Uint8Array.from(bytes), at).name()).toThrow(WireError);
    });
  }
  it('follows a legal pointer and leaves pos after it', () => {
    const buf = Uint8Array.from([1, 0x61, 0, 1, 0x62, 0xc0, 0x00, 0xff]);
    const r = new Reader(buf, 3);
    expect(nameToText(r.name())).toBe('b.a.');
    expect(r.pos).toBe(7);
  });
});
