/**
 * Alert fingerprints as Prometheus/Alertmanager compute them: FNV-1a 64 over the label names in sorted
 * order, each name and value followed by the 0xff separator byte, written as 16 lowercase hex digits.
 */
const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const encoder = new TextEncoder();

function addBytes(h: bigint, bytes: Uint8Array): bigint {
  for (let i = 0; i < bytes.length; i++) h = ((h ^ BigInt(bytes[i]!)) * PRIME) & MASK;
  return h;
}

/**
 * The fingerprint of a label set, as Prometheus and Alertmanager compute it (see this file's comment):
 * 16 lowercase hex digits.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  let h = OFFSET;
  const sep = new Uint8Array([0xff]);
  for (const n of names) {
    h = addBytes(h, encoder.encode(n));
    h = addBytes(h, sep);
    h = addBytes(h, encoder.encode(labels[n]!));
    h = addBytes(h, sep);
  }
  return h.toString(16).padStart(16, '0');
}

/** A canonical string of a label set (sorted, quoted), used as a map key and in group keys. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}
