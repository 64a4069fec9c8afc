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
