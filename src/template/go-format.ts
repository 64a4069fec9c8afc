/**
 * Go's formatting of a float64 (strconv.FormatFloat with `e`, `f`, `g`; fmt's `%v` is `g` shortest), which
 * Prometheus's templates print with (`printf "%.2f" $value`, `{{ $value }}`). Rounding is Go's: the exact
 * binary value is rounded half to even (`%.0f` of 2.5 is `2`, `%.2f` of 0.125 is `0.12`), where JavaScript's
 * toFixed / toExponential round such exact ties up.
 */

/** The exact decimal expansion of a finite, non-zero |n|: digits (no leading zeros) and the point's position. */
function exactDecimal(n: number): { digits: string; dp: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(n));
  const bits = buf.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp2: number;
  if (expBits === 0) exp2 = -1074;
  else {
    mant |= 1n << 52n;
    exp2 = expBits - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp2 >= 0) {
    digits = (mant << BigInt(exp2)).toString();
    dp = digits.length;
  } else {
    // mant / 2^k = mant * 5^k / 10^k
    digits = (mant * 5n ** BigInt(-exp2)).toString();
    dp = digits.length + exp2;
  }
  const trimmed = digits.replace(/0+$/, '');
  const lead = trimmed.length - trimmed.replace(/^0+/, '').length;
  return { digits: trimmed.slice(lead), dp: dp - lead };
}

/** `digits` (point at `dp`) rounded half to even to `nd` digits (nd may be <= 0: rounds to 0 or to one unit). */
function roundTo(d: { digits: string; dp: number }, nd: number): { digits: string; dp: number } {
  if (nd >= d.digits.length) return d;
  if (nd < 0) return { digits: '', dp: d.dp };
  const next = d.digits.charCodeAt(nd) - 48;
  const rest = d.digits.slice(nd + 1);
  const prevOdd = nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1;
  const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || prevOdd));
  let kept = d.digits.slice(0, nd);
  let dp = d.dp;
  if (up) {
    const bumped = (BigInt(kept || '0') + 1n).toString();
    if (bumped.length > kept.length) dp++;
    kept = bumped;
  }
  kept = kept.replace(/0+$/, '');
  return { digits: kept, dp };
}

/** The shortest digits that read back as `n` (JavaScript's and Go's shortest forms agree). */
function shortest(n: number): { digits: string; dp: number } {
  const [mant, e] = Math.abs(n).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '');
  return { digits, dp: Number(e) + 1 };
}

function fixed(d: { digits: string; dp: number }, prec: number): string {
  let s: string;
  if (d.dp <= 0) s = '0' + (prec > 0 ? '.' + ('0'.repeat(-d.dp) + d.digits).padEnd(prec, '0').slice(0, prec) : '');
  else {
    const int = d.digits.slice(0, d.dp).padEnd(d.dp, '0');
    s = int + (prec > 0 ? '.' + d.digits.slice(d.dp).padEnd(prec, '0').slice(0, prec) : '');
  }
  return s;
}

function expForm(d: { digits: string; dp: number }, prec: number): string {
  const digits = (d.digits || '0').padEnd(prec + 1, '0');
  const e = d.digits ? d.dp - 1 : 0;
  const mant = prec > 0 ? `${digits[0]}.${digits.slice(1, prec + 1)}` : digits[0]!;
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * `n` as Go's strconv.FormatFloat(n, verb, prec, 64) writes it; `prec` undefined is Go's -1 (shortest).
 * Infinities and NaN as fmt writes them: `+Inf`, `-Inf`, `NaN`.
 */
export function goFormatFloat(n: number, verb: 'e' | 'f' | 'g', prec?: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  let d = n === 0 ? { digits: '', dp: 1 } : prec === undefined ? shortest(n) : exactDecimal(n);
  switch (verb) {
    case 'f': {
      if (prec !== undefined) d = roundTo(d, d.dp + prec);
      return sign + fixed(d, prec ?? Math.max(d.digits.length - d.dp, 0));
    }
    case 'e': {
      if (prec !== undefined) d = roundTo(d, prec + 1);
      return sign + expForm(d, prec ?? Math.max(d.digits.length - 1, 0));
    }
    default: {
      let eprec = prec ?? 6;
      if (prec !== undefined) {
        const p = prec === 0 ? 1 : prec;
        d = roundTo(d, p);
        eprec = p;
        if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
      }
      const exp = d.digits ? d.dp - 1 : 0;
      if (exp < -4 || exp >= eprec) return sign + expForm(d, Math.max(d.digits.length - 1, 0));
      return sign + fixed(d, Math.max(d.digits.length - d.dp, 0));
    }
  }
}
