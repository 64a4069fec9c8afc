#!/usr/bin/env node
// The last steps of `npm run build` (issue 21, start-up): bundles the daemon, from its TypeScript sources, with
// esbuild into one CommonJS file, dist/app/vigil.cjs, and writes its loader, dist/app/main.js (the entry
// bin/vigil.js and `npm start` run, replacing tsc's; from deploy/bundle-main.mjs), which compiles the bundle with
// V8's code cache (deploy/code-cache.mjs makes it). Node 20 has no code cache for ES modules, and parsing and
// compiling the code was most of the start: 73 ES module chunks took 440 ms to ready where this takes about 100
// ms less on the same VM (and about 850 separate modules took 1.0-1.4 s before any bundling).
//
//   node deploy/bundle.mjs <repo root> <dist dir>
//   VIGIL_BUNDLE_META=<file>: also writes esbuild's metafile there (what the bundle holds, by input, in bytes)
//
// What is in the bundle, and what is not:
//   - vigil's code and the packages its start-up needs (grpc-js, yaml, pino, typebox ...). A module that only a
//     component's lazy `import()` reaches is evaluated the first time it is imported, as from the sources
//     (esbuild wraps each such module in an init function), so a component the config does not name costs its
//     source's bytes and nothing else.
//   - {@link EXTERNAL}: packages that only components or options off in the shipped config use (undici for the
//     HTTP exporters, nodemailer, the OpenTelemetry SDK and exporters for vigil's own telemetry over OTLP),
//     required from node_modules when first used, so the bundle (which V8 keeps in memory whole) stays about
//     1.2 MB instead of 2.4. Their dynamic `import()` becomes a `require` (they all ship CommonJS).
//   - The rest of <dist> (tsc's per-file output and the data files deploy/copy-data-files.mjs copied) stays:
//     the data files are read at run time.
//
// What a bundle changes, and how it is kept working:
//   - `import.meta.url` in vigil's own sources (data files found next to a module: prices.json, the status
//     page) is rewritten to the URL the module has in tsc's per-file layout, <dist>/<path>.js, relative to the
//     bundle's own file, so that those relative URLs resolve to the copied data files as they do from the sources.
//   - @grpc/grpc-js finds its channelz and ORCA .proto files through `__dirname` (code vigil never runs: no
//     admin services, no ORCA); those two files get the directory of the installed package instead, so
//     that they would still work. @grpc/proto-loader, which only they load, stays out of the bundle.
//   - A CommonJS package imported lazily (`await import('@grpc/grpc-js')`) gives its exports as `default`
//     in the bundle: such imports go through src/import-package.ts.
//   - The bundle is one function expression `(function (exports, require, module, __filename, __dirname) {...})`
//     in ASCII (esbuild escapes other characters), which main.js compiles with node:vm.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

/** Packages loaded from node_modules at run time instead of bundled (see above). */
export const EXTERNAL = [
  '@grpc/proto-loader',
  'undici',
  'nodemailer',
  '@opentelemetry/sdk-*',
  '@opentelemetry/exporter-*',
  '@opentelemetry/otlp-*',
  '@opentelemetry/resources',
  '@opentelemetry/core',
];
/** The wrapper around the bundle's code: a CommonJS module function, as node's own, for node:vm to compile. */
const WRAP = ['(function (exports, require, module, __filename, __dirname) {', '\n});\n'];

/** Rewrites `import.meta.url` in vigil's own .ts files to the module's URL in the per-file dist layout. */
function importMetaUrlPlugin(root, dist, outdir) {
  return {
    name: 'vigil-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const perFile = path.join(dist, path.relative(root, args.path).replace(/\.ts$/, '.js'));
        const fromOut = path.relative(outdir, perFile).split(path.sep).join('/');
        return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromOut)}, require('node:url').pathToFileURL(__filename)).href`), loader: 'ts' };
      });
    },
  };
}

/** grpc-js's files that read `__dirname`: it becomes the installed package's build/src directory, found at run time. */
function grpcDirnamePlugin() {
  return {
    name: 'vigil-grpc-dirname',
    setup(build) {
      build.onLoad({ filter: /[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/](channelz|orca)\.js$/ }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        return { contents: source.replaceAll('${__dirname}', "${require('node:path').dirname(require('node:module').createRequire(__filename).resolve('@grpc/grpc-js/build/src/index.js'))}"), loader: 'js' };
      });
    },
  };
}

/** Files of an earlier build in <dist>/app: the chunks of the ES module bundle (`<name>-<8 base-32 chars>.js`) and the cache. */
const STALE = /(-[A-Z0-9]{8}\.js(\.map)?|^vigil(\.[\w.-]+)?\.v8cache)$/;

/**
 * Bundles `<root>/app/main.ts` into `<dist>/app/vigil.cjs` (and its source map) and writes the loader
 * `<dist>/app/main.js` over tsc's; removes what an earlier build left there (its code cache, chunks of the
 * ES module bundle of earlier versions). Returns the files written.
 */
export async function bundle(root, dist) {
  const outdir = path.join(dist, 'app');
  if (fs.existsSync(outdir)) for (const f of fs.readdirSync(outdir)) if (STALE.test(f)) fs.rmSync(path.join(outdir, f));
  const outfile = path.join(outdir, 'vigil.cjs');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['app/main.ts'],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // the external packages' lazy import() as require() (they ship CommonJS): node:vm's scripts have no module loader
    supported: { 'dynamic-import': false },
    // packages' ES module builds first (OpenTelemetry's, typebox's ...): esbuild drops what is not used of
    // them, which it cannot do in CommonJS
    mainFields: ['module', 'main'],
    outfile,
    sourcemap: true,
    // smaller sources: less to parse at start, and V8 keeps each script's source in the heap (names kept for
    // stack traces and error classes)
    // VIGIL_BUNDLE_MINIFY=0 keeps the identifiers (for a CPU profile that names vigil's functions)
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: process.env.VIGIL_BUNDLE_MINIFY !== '0',
    keepNames: true,
    charset: 'ascii',
    metafile: true,
    logLevel: 'warning',
    external: EXTERNAL,
    plugins: [importMetaUrlPlugin(root, dist, outdir), grpcDirnamePlugin()],
    banner: { js: WRAP[0] },
    footer: { js: WRAP[1] },
  });
  if (process.env.VIGIL_BUNDLE_META) fs.writeFileSync(process.env.VIGIL_BUNDLE_META, JSON.stringify(result.metafile));
  const code = fs.readFileSync(outfile);
  const wide = code.findIndex((b) => b > 0x7f);
  if (wide >= 0) throw new Error(`${outfile}: a byte above ASCII at offset ${wide}: main.js reads the bundle as latin1`);
  if (!code.subarray(0, WRAP[0].length).equals(Buffer.from(WRAP[0]))) throw new Error(`${outfile} does not start with the module wrapper`);
  try {
    new (await import('node:vm')).Script(code.toString('latin1'), { filename: outfile });
  } catch (e) {
    throw new Error(`${outfile} does not compile as a script: ${e.message}`);
  }
  fs.copyFileSync(path.join(root, 'deploy/bundle-main.mjs'), path.join(outdir, 'main.js'));
  return [outfile, path.join(outdir, 'main.js')];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = '.', dist = 'dist'] = process.argv.slice(2);
  const files = await bundle(path.resolve(root), path.resolve(root, dist));
  console.log(`bundled app/main.ts into ${files.map((f) => path.relative(process.cwd(), f)).join(' and ')}`);
}
