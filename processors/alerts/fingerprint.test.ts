import { describe, expect, it } from 'vitest';
import { fingerprint, labelsKey } from './fingerprint.ts';

describe('fingerprint', () => {
  it("matches Prometheus' labelSetToFingerprint (prometheus/common model test vectors)", () => {
    expect(fingerprint({})).toBe((14695981039346656037n).toString(16));
    expect(fingerprint({ name: 'garland, briggs', fear: 'love is not enough' })).toBe((5799056148416392346n).toString(16).padStart(16, '0'));
  });
  it('does not depend on key order, and differs with any label', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }));
    expect(fingerprint({ a: '1' })).toMatch(/^[0-9a-f]{16}$/);
    expect(labelsKey({ b: 'x"y', a: '1' })).toBe('{a="1", b="x\\"y"}');
  });
});

/** FNV-1a 64 with BigInt, byte by byte over TextEncoder's UTF-8: the definition the fast version must equal. */
function reference(labels: Record<string, string>): string {
  const enc = new TextEncoder();
  let h = 0xcbf29ce484222325n;
  const add = (bytes: Iterable<number>) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  };
  for (const n of Object.keys(labels).sort()) {
    add(enc.encode(n));
    add([0xff]);
    add(enc.encode(labels[n]!));
    add([0xff]);
  }
  return h.toString(16).padStart(16, '0');
}

describe('fingerprint against the BigInt definition', () => {
  it('agrees on 2,000 random label sets: ASCII, 2-, 3- and 4-byte UTF-8, lone surrogates, empty values, high bytes', () => {
    // a fixed-seed generator: a failure names a reproducible case
    let seed = 42;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '_', '0', '~', '\u007f', 'é', 'ß', '\u0800', '日', '\uffff', '😀', '\ud800', '\udfff', ' ', '"', '\u0000'];
    const word = () => Array.from({ length: rnd(12) }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const labels: Record<string, string> = {};
      for (let k = rnd(6); k > 0; k--) labels[`l${word()}`] = word();
      expect(fingerprint(labels), JSON.stringify(labels)).toBe(reference(labels));
    }
  });
  it('agrees on long values, where the high half carries most', () => {
    const labels = { alertname: 'x'.repeat(10_000), service_name: 'ÿ'.repeat(5_000) };
    expect(fingerprint(labels)).toBe(reference(labels));
  });
});

describe('fingerprint of values that are not strings', () => {
  it('hashes them as TextEncoder takes them (undefined as empty, others as their string), without throwing', () => {
    const odd = { a: undefined, b: null, c: 12, d: true } as unknown as Record<string, string>;
    expect(fingerprint(odd)).toBe(fingerprint({ a: '', b: 'null', c: '12', d: 'true' }));
  });
});
