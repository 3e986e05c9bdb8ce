/**
 * LOC rdata (RFC 1876) as one field kind: the 16-octet fixed layout
 *   VERSION(0) SIZE HORIZ_PRE VERT_PRE | LATITUDE(u32) | LONGITUDE(u32) | ALTITUDE(u32)
 * with the presentation form of RFC 1876 §3:
 *   d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]
 * Printing follows kdig: degrees, minutes and seconds always, seconds with three decimals only when they are
 * fractional, metres with two decimals only when they are fractional.
 */
import { WireError } from '../errors.js';
import type { Tokens } from '../text.js';
import { need, rdataErr, u32At, type Bytes, type Kind } from './kinds.js';

const EQUATOR = 0x80000000; // 2^31: latitude/longitude of the equator / prime meridian (RFC 1876 §2)
const ALT_BASE = 10000000; // altitude is measured from 100,000 m below the WGS 84 spheroid, in cm
const MAS_PER_DEG = 3600000; // thousandths of an arc second per degree

function syntax(msg: string): WireError {
  return new WireError('E_SYNTAX', msg);
}

/** Decimal with up to `frac` fraction digits, scaled by 10^frac; optional leading minus when `neg`. */
function scaled(s: string, frac: number, neg: boolean, what: string): number {
  const re = neg ? /^(-?)([0-9]{1,9})(?:\.([0-9]+))?$/ : /^()([0-9]{1,9})(?:\.([0-9]+))?$/;
  const m = re.exec(s);
  if (!m || (m[3] !== undefined && (m[3].length === 0 || m[3].length > frac)))
    throw syntax(`"${s}" is not a valid ${what}`);
  const v = Number(m[2]) * 10 ** frac + Number((m[3] ?? '').padEnd(frac, '0') || '0');
  return m[1] === '-' ? -v : v;
}

function metresToCm(s: string, neg: boolean, what: string): number {
  return scaled(s.endsWith('m') ? s.slice(0, -1) : s, 2, neg, what);
}

/** One coordinate: degrees [minutes [seconds]] hemisphere. */
function coord(ts: Tokens, pos: string, negc: string, maxDeg: number, what: string): number {
  const deg = Number(scaledInt(ts.word(), maxDeg, `${what} degrees`));
  let min = 0;
  let ms = 0;
  let t = ts.word();
  if (t !== pos && t !== negc) {
    min = scaledInt(t, 59, `${what} minutes`);
    t = ts.word();
    if (t !== pos && t !== negc) {
      ms = scaled(t, 3, false, `${what} seconds`);
      if (ms >= 60000) throw syntax(`${what} seconds ${t} out of range`);
      t = ts.word();
    }
  }
  if (t !== pos && t !== negc) throw syntax(`"${t}" is not ${pos} or ${negc}`);
  const v = deg * MAS_PER_DEG + min * 60000 + ms;
  if (v > maxDeg * MAS_PER_DEG) throw syntax(`${what} beyond ${maxDeg} degrees`);
  return t === pos ? EQUATOR + v : EQUATOR - v;
}

function scaledInt(s: string, max: number, what: string): number {
  if (!/^[0-9]{1,3}$/.test(s) || Number(s) > max) throw syntax(`"${s}" is not a valid ${what}`);
  return Number(s);
}

/** cm -> RFC 1876 mantissa/exponent octet, truncating like Knot (25 m -> 2e3 cm). */
function precision(cm: number, what: string): number {
  if (cm > 9e9) throw syntax(`${what} larger than 90000000m`);
  let m = cm;
  let e = 0;
  while (m > 9) {
    m = Math.floor(m / 10);
    e++;
  }
  return (m << 4) | e;
}

function metresText(cm: number): string {
  return cm % 100 === 0 ? `${cm / 100}m` : `${(cm / 100).toFixed(2)}m`;
}

function coordText(v: number, pos: string, negc: string): string {
  let a = Math.abs(v - EQUATOR);
  const h = v >= EQUATOR ? pos : negc;
  const d = Math.floor(a / MAS_PER_DEG);
  a %= MAS_PER_DEG;
  const m = Math.floor(a / 60000);
  a %= 60000;
  const s = a % 1000 === 0 ? String(a / 1000) : (a / 1000).toFixed(3);
  return `${d} ${m} ${s} ${h}`;
}

function precisionValid(b: number): boolean {
  return b >> 4 <= 9 && (b & 15) <= 9;
}

function precisionCm(b: number): number {
  return (b >> 4) * 10 ** (b & 15);
}

export const loc: Kind = {
  toEnd: true,
  parse(ts: Tokens, out: Bytes) {
    const lat = coord(ts, 'N', 'S', 90, 'latitude');
    const lon = coord(ts, 'E', 'W', 180, 'longitude');
    const alt = metresToCm(ts.word(), true, 'altitude');
    if (alt < -ALT_BASE || alt > 0xffffffff - ALT_BASE) throw syntax('altitude out of range -100000.00m..42849672.95m');
    const sizes = [100, 1000000, 1000]; // defaults: 1m, 10000m, 10m (RFC 1876 §3)
    const names = ['size', 'horizontal precision', 'vertical precision'];
    for (let i = 0; i < 3 && !ts.done(); i++) sizes[i] = metresToCm(ts.word(), false, names[i]!);
    out.u8(0);
    for (let i = 0; i < 3; i++) out.u8(precision(sizes[i]!, names[i]!));
    out.u32(lat);
    out.u32(lon);
    out.u32(alt + ALT_BASE);
  },
  scan(b, pos, end) {
    need(pos, 16, end);
    if (end !== pos + 16) throw rdataErr(`LOC rdata of ${end - pos} octets (16)`);
    if (b[pos] !== 0) throw rdataErr(`LOC version ${b[pos]} (only 0 is defined)`);
    for (let i = 1; i < 4; i++) if (!precisionValid(b[pos + i]!)) throw rdataErr('LOC size/precision digit above 9');
    if (Math.abs(u32At(b, pos + 4) - EQUATOR) > 90 * MAS_PER_DEG) throw rdataErr('LOC latitude beyond 90 degrees');
    if (Math.abs(u32At(b, pos + 8) - EQUATOR) > 180 * MAS_PER_DEG) throw rdataErr('LOC longitude beyond 180 degrees');
    return end;
  },
  print(b, pos) {
    return [
      coordText(u32At(b, pos + 4), 'N', 'S'),
      coordText(u32At(b, pos + 8), 'E', 'W'),
      metresText(u32At(b, pos + 12) - ALT_BASE),
      metresText(precisionCm(b[pos + 1]!)),
      metresText(precisionCm(b[pos + 2]!)),
      metresText(precisionCm(b[pos + 3]!)),
    ].join(' ');
  },
};
