/**
 * src/cli/env.ts: the DANE_NS_* variables give the flags' defaults (empty counts as unset), and a bad value is a
 * usage error naming the variable, read only when the flag is not given.
 */
import { describe, expect, it } from 'vitest';
import { environmentDefaults, udpEngine, type Defaults } from '../../src/cli/env.js';
import { UsageError } from '../../src/cli/args.js';

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no usage error');
};

describe('environmentDefaults', () => {
  it('without variables (or with empty ones): the documented defaults', () => {
    for (const env of [
      {},
      {
        DANE_NS_ZONES: '',
        DANE_NS_KEYS: '',
        DANE_NS_STATE: '',
        DANE_NS_LISTEN: '',
        DANE_NS_HTTP: '',
        DANE_NS_UDP_ENGINE: '',
        DANE_NS_LOG_QUERIES: '',
      },
    ]) {
      const d = environmentDefaults(env);
      expect([d.zones(), d.keys(), d.state()]).toEqual(['./zones', './keys', './state']);
      expect(d.listen()).toEqual(['127.0.0.1:5353']);
      expect(d.http()).toBeUndefined();
      expect(d.udpEngine()).toBe('auto');
      expect(d.logQueries()).toBe(false);
    }
  });

  it('each variable sets its default', () => {
    const d = environmentDefaults({
      DANE_NS_ZONES: '/z',
      DANE_NS_KEYS: '/k',
      DANE_NS_STATE: '/s',
      DANE_NS_LISTEN: ' 0.0.0.0:53 , [::]:53 ,',
      DANE_NS_HTTP: '127.0.0.1:8053',
      DANE_NS_UDP_ENGINE: 'dgram',
      DANE_NS_LOG_QUERIES: '1',
    });
    expect([d.zones(), d.keys(), d.state()]).toEqual(['/z', '/k', '/s']);
    expect(d.listen()).toEqual(['0.0.0.0:53', '[::]:53']);
    expect(d.http()).toBe('127.0.0.1:8053');
    expect(d.udpEngine()).toBe('dgram');
    expect(d.logQueries()).toBe(true);
    expect(environmentDefaults({ DANE_NS_LOG_QUERIES: '0' }).logQueries()).toBe(false);
    expect(environmentDefaults({ DANE_NS_UDP_ENGINE: 'batch' }).udpEngine()).toBe('batch');
  });

  it.each([
    [
      'DANE_NS_UDP_ENGINE',
      'fast',
      (d: Defaults) => d.udpEngine(),
      'DANE_NS_UDP_ENGINE: expected auto, batch or dgram (got "fast")',
    ],
    ['DANE_NS_LOG_QUERIES', 'yes', (d: Defaults) => d.logQueries(), 'DANE_NS_LOG_QUERIES: expected 1 or 0 (got "yes")'],
    ['DANE_NS_LISTEN', ' , ', (d: Defaults) => d.listen(), 'DANE_NS_LISTEN: no address in " , "'],
    [
      'DANE_NS_LISTEN',
      '127.0.0.1:53,nowhere',
      (d: Defaults) => d.listen(),
      'DANE_NS_LISTEN: expected ADDR:PORT or [IPV6]:PORT (got "nowhere")',
    ],
    [
      'DANE_NS_HTTP',
      '127.0.0.1',
      (d: Defaults) => d.http(),
      'DANE_NS_HTTP: expected ADDR:PORT or [IPV6]:PORT (got "127.0.0.1")',
    ],
  ] as const)('%s=%j: %s', (name, value, read, message) => {
    const d = environmentDefaults({ [name]: value });
    expect(usage(() => read(d))).toBe(message);
  });

  it('a variable is read only when asked for: a bad one does not break another default', () => {
    const d = environmentDefaults({ DANE_NS_UDP_ENGINE: 'fast', DANE_NS_ZONES: '/z' });
    expect(d.zones()).toBe('/z');
  });

  it('udpEngine names the source it is given', () => {
    expect(usage(() => udpEngine('--udp-engine', 'fast'))).toBe(
      '--udp-engine: expected auto, batch or dgram (got "fast")',
    );
  });

  it('DANE_NS_CATALOG and DANE_NS_CATALOG_GRACE: a name made absolute and lower-case, a duration; unset: none', () => {
    const d = environmentDefaults({ DANE_NS_CATALOG: 'Catalog.Invalid', DANE_NS_CATALOG_GRACE: '1h30m' });
    expect(d.catalog()).toBe('catalog.invalid.');
    expect(d.catalogGrace()).toBe(5400);
    expect(environmentDefaults({ DANE_NS_CATALOG_GRACE: '600' }).catalogGrace()).toBe(600);
    const none = environmentDefaults({ DANE_NS_CATALOG: '', DANE_NS_CATALOG_GRACE: '' });
    expect([none.catalog(), none.catalogGrace()]).toEqual([undefined, undefined]);
    expect(usage(() => environmentDefaults({ DANE_NS_CATALOG_GRACE: 'soon' }).catalogGrace())).toBe(
      'DANE_NS_CATALOG_GRACE: expected a duration such as 3600, 30m, 1h or 1d (got "soon")',
    );
    expect(usage(() => environmentDefaults({ DANE_NS_CATALOG: 'a..b' }).catalog())).toMatch(/^DANE_NS_CATALOG: /);
  });
});
