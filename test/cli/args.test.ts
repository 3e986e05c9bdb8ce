/**
 * src/cli/args.ts: the options of a command read with node:util parseArgs, each usage error naming its option,
 * `--` ending the options, and the value checks the commands share.
 */
import { describe, expect, it } from 'vitest';
import {
  domainName,
  hostPort,
  ipAddress,
  onePositional,
  parseOptions,
  port,
  requires,
  seconds,
  UsageError,
} from '../../src/cli/args.js';

const parse = (args: string[]): ReturnType<typeof parseOptions> => parseOptions(args, ['zones', 'listen'], ['csk']);
const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no usage error');
};

describe('parseOptions', () => {
  it('reads --name value, --name=value, switches and positionals; the last of a repeated value wins', () => {
    const a = parse(['z1', '--zones', 'a', '--csk', '--zones=b', '--listen', '1', 'z2', '--listen=2']);
    expect(a.positionals).toEqual(['z1', 'z2']);
    expect(a.value('zones')).toBe('b');
    expect(a.values('listen')).toEqual(['1', '2']);
    expect(a.has('csk')).toBe(true);
    expect(a.has('help')).toBe(false);
    expect(a.value('missing')).toBeUndefined();
  });

  it('-h and --help are help', () => {
    expect(parse(['-h']).has('help')).toBe(true);
    expect(parse(['--help']).has('help')).toBe(true);
  });

  it('-- ends the options: what follows is positional, even --zones', () => {
    const a = parse(['--csk', '--', '--zones', '-x.pem', '--']);
    expect(a.positionals).toEqual(['--zones', '-x.pem', '--']);
    expect(a.value('zones')).toBeUndefined();
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-x'], 'unknown option -x'],
    [['--zones'], '--zones needs a value'],
    [['--csk=yes'], '--csk takes no value (got "yes")'],
    [['--zones', '--csk'], '--zones needs a value (got the option "--csk"; write --zones=--csk)'],
  ])('%j: %s', (args, message) => {
    expect(usage(() => parse(args))).toBe(message);
  });

  it('a value starting with a dash is taken when written --name=value, and a lone "-" as well', () => {
    expect(parse(['--zones=--odd']).value('zones')).toBe('--odd');
    expect(parse(['--zones', '-']).value('zones')).toBe('-');
  });

  it('onePositional and requires name what is wrong', () => {
    expect(usage(() => onePositional(parse([]), 'ds', 'ZONE'))).toBe('ds needs exactly one ZONE');
    expect(usage(() => onePositional(parse(['a', 'b']), 'ds', 'ZONE'))).toBe('ds needs exactly one ZONE');
    expect(onePositional(parse(['a']), 'ds', 'ZONE')).toBe('a');
    expect(usage(() => requires(parse(['--zones', 'z']), 'zones', 'csk'))).toBe('--zones only applies with --csk');
    expect(() => requires(parse(['--zones', 'z', '--csk']), 'zones', 'csk')).not.toThrow();
  });
});

describe('value checks', () => {
  it('port: 0 only where the system may choose, at most 65535, digits only', () => {
    expect(port('--port', '25', 1)).toBe(25);
    expect(port('--listen', '0', 0)).toBe(0);
    expect(port('--port', '65535', 1)).toBe(65535);
    for (const bad of ['0', '65536', '99999', '-1', '2.5', ' 25', '0x19', ''])
      expect(usage(() => port('--port', bad, 1))).toBe(`--port: expected a port number 1..65535 (got "${bad}")`);
  });

  it('seconds: a whole number', () => {
    expect(seconds('--margin', '0')).toBe(0);
    expect(seconds('--margin', '3600')).toBe(3600);
    for (const bad of ['soon', '-5', '1.5', '1e3', '', '1234567890'])
      expect(usage(() => seconds('--margin', bad))).toBe(`--margin: expected a whole number of seconds (got "${bad}")`);
  });

  it('hostPort: ADDR:PORT and [IPV6]:PORT with an IP address', () => {
    expect(hostPort('--listen', '127.0.0.1:53', 0)).toEqual({ host: '127.0.0.1', port: 53 });
    expect(hostPort('--listen', '[::1]:0', 0)).toEqual({ host: '::1', port: 0 });
    expect(hostPort('--listen', 'localhost:5353', 0)).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(usage(() => hostPort('--http', 'nowhere', 0))).toBe(
      '--http: expected ADDR:PORT or [IPV6]:PORT (got "nowhere")',
    );
    expect(usage(() => hostPort('--listen', '1.2.3.4:65536', 0))).toMatch(/^--listen: .*"1\.2\.3\.4:65536"/);
    expect(usage(() => hostPort('--listen', '999.1.1.1:53', 0))).toBe(
      '--listen: "999.1.1.1" is not an IPv4 or IPv6 address (in "999.1.1.1:53")',
    );
    expect(usage(() => hostPort('--server', '127.0.0.1:0', 1))).toBe(
      '--server: expected a port number 1..65535 (got "0")',
    );
  });

  it('ipAddress and domainName', () => {
    expect(ipAddress('--connect', '2001:db8::25')).toBe('2001:db8::25');
    expect(usage(() => ipAddress('--connect', 'mx.example'))).toBe(
      '--connect: expected an IPv4 or IPv6 address (got "mx.example")',
    );
    expect(domainName('--host', 'mx.example').key).toEqual(domainName('--host', 'MX.example.').key);
    expect(usage(() => domainName('--host', 'a..b'))).toMatch(/^--host: empty label/);
    expect(usage(() => domainName('--host', ''))).toBe('--host: expected a domain name, not an empty value');
  });
});
