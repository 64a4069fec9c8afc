#!/usr/bin/env node
// Runs vigil from its TypeScript source in a checkout (through tsx), or from the compiled dist/ where the
// source or tsx is absent (the production image installs runtime dependencies only) or VIGIL_DIST=1.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fromSource =
  process.env.VIGIL_DIST !== '1' &&
  existsSync(`${root}app/main.ts`) &&
  (await import('tsx/esm/api').then((m) => (m.register(), true), () => false));
await import(fromSource ? '../app/main.ts' : '../dist/app/main.js');
