/**
 * deploy/Dockerfile, checked without a Docker engine: the linter (dockerfile-utils plus the cross-stage
 * and build-context checks of deploy/lint-dockerfile.ts) finds nothing, and the file says what the
 * deployment contract needs (ports, user, state volume, health check, entrypoint).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerignoreMatcher, lintDockerfile, parseInstructions } from '../deploy/lint-dockerfile.ts';
import { components } from '../app/components.ts';
import { formatConfigError, loadConfig } from '../src/config/load.ts';

const root = path.resolve(import.meta.dirname, '..');
const dockerfile = fs.readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');

describe('deploy/Dockerfile', () => {
  it('passes the linter', () => {
    expect(lintDockerfile(dockerfile, root)).toEqual([]);
  });

  it('builds in one stage and runs production dependencies only in the other', () => {
    const ins = parseInstructions(dockerfile);
    const froms = ins.filter((i) => i.keyword === 'FROM');
    expect(froms.map((f) => f.args.split(/\s+/).pop())).toEqual(['build', 'runtime']);
    const runtimeStart = ins.indexOf(froms[1]!);
    const build = ins.slice(0, runtimeStart);
    const runtime = ins.slice(runtimeStart);
    expect(build.some((i) => i.keyword === 'RUN' && /npm ci(?!.*--omit)/.test(i.args))).toBe(true);
    expect(build.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'COPY' && /--from=build \/src\/dist/.test(i.args))).toBe(true);
    expect(runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).sort()).toEqual(['4317', '4318', '4319', '8888', '9464']);
    expect(runtime.find((i) => i.keyword === 'VOLUME')?.args).toContain('/var/lib/vigil');
    expect(runtime.find((i) => i.keyword === 'USER')?.args).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args).toContain('process.env.VIGIL_HEALTHCHECK_URL');
    expect(runtime.find((i) => i.keyword === 'ENV' && i.args.startsWith('VIGIL_HEALTHCHECK_URL'))?.args).toBe('VIGIL_HEALTHCHECK_URL=http://127.0.0.1:8888/healthz');
    expect(JSON.parse(runtime.find((i) => i.keyword === 'ENTRYPOINT')!.args)).toEqual(['node', 'bin/vigil.js']);
    expect(JSON.parse(runtime.find((i) => i.keyword === 'CMD')!.args)).toEqual(['run', '--config', '/etc/vigil/pipelines.yaml']);
  });

  it('is run, in every `docker run` example (its header, deploy/README.md), with what its default config needs', async () => {
    const examples: [string, string][] = [];
    for (const file of ['deploy/Dockerfile', 'deploy/README.md', 'README.md'])
      for (const line of fs.readFileSync(path.join(root, file), 'utf8').split('\n')) {
        const at = line.indexOf('docker run ');
        if (at >= 0) examples.push([file, line.slice(at)]);
      }
    expect(examples.map(([f]) => f)).toEqual(expect.arrayContaining(['deploy/Dockerfile', 'deploy/README.md']));
    const exposed = parseInstructions(dockerfile)
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/));
    for (const [file, cmd] of examples) {
      // the variables it passes (`-e NAME=value`, `--env NAME`), as the container would see them
      const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
      for (const m of cmd.matchAll(/(?:^|\s)(?:-e|--env)[\s=]+([A-Za-z_]\w*)/g)) env[m[1]!] = 'from-the-example';
      // the image's default config, /etc/vigil/pipelines.yaml: without a variable it needs, the container exits at start
      const loaded = await loadConfig([path.join(root, 'deploy/pipelines.container.yaml')], components, env);
      expect(loaded.errors.map(formatConfigError), `${file}: ${cmd}`).toEqual([]);
      const published = [...cmd.matchAll(/(?:^|\s)-p\s+(?:[\d.]+:)?\d+:(\d+)/g)].map((m) => m[1]!);
      expect(published.sort(), `${file}: ${cmd}`).toEqual([...exposed].sort());
    }
  });

  it('reports the mistakes it is there to catch', () => {
    const bad = [
      'FROM node:20-bookworm-slim AS build',
      'RUN npm ci',
      'FROM node:20-bookworm-slim',
      'COPY --from=biuld /src/dist ./dist',
      'COPY no-such-file.txt ./',
      'COPY node_modules ./node_modules',
      'RUN npm install --omit=dev',
      'EXPOSE 88888',
      'HEALTHCHECK --interval=xx CMD true',
      'CMD node bin/vigil.js run',
    ].join('\n');
    const messages = lintDockerfile(bad, root).map((p) => `${p.line}: ${p.message}`);
    expect(messages).toEqual([
      '3: the final stage has no USER: it would run as root',
      '4: COPY --from=biuld names no earlier build stage',
      '5: COPY source "no-such-file.txt" does not exist in the build context',
      '6: COPY source "node_modules" is excluded by .dockerignore',
      '7: use "npm ci --omit=dev" (from the lock file) in the runtime stage, not npm install',
      '8: EXPOSE "88888" is not a port in 1..65535',
      '9: error: time: invalid duration xx',
      '10: CMD in shell form: signals go to /bin/sh, not to node; use the JSON form',
    ]);
  });

  it('matches .dockerignore patterns as Docker does (last match wins, parents exclude children)', () => {
    const ignored = dockerignoreMatcher('node_modules\n**/*.test.ts\n**/testdata\ndocs/*\n!docs/keep.md\n');
    expect(ignored('node_modules/pino/index.js')).toBe(true);
    expect(ignored('processors/cost/cost.test.ts')).toBe(true);
    expect(ignored('processors/cost/testdata/valid.yaml')).toBe(true);
    expect(ignored('processors/cost/prices.json')).toBe(false);
    expect(ignored('docs/a.md')).toBe(true);
    expect(ignored('docs/keep.md')).toBe(false);
  });
});
