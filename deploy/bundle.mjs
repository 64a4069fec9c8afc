#!/usr/bin/env node
// The last step of `npm run build` (issue 21, start-up): bundles the daemon, from its TypeScript sources, into
// a few ES modules with esbuild, so that `vigil run` loads a handful of files instead of about 850 modules
// (node resolves, reads and compiles each module separately: that was most of the start-up time).
//
//   node deploy/bundle.mjs <repo root> <dist dir>
//   VIGIL_BUNDLE_META=<file>: also writes esbuild's metafile there (what each chunk holds, by input, in bytes)
//
// Output: <dist>/app/main.js (the entry bin/vigil.js and `npm start` run, replacing tsc's) and its chunks
// <dist>/app/<name>-<HASH>.js. Each component stays a chunk of its own, imported only when a config names it
// (app/components.ts), and the packages only it uses (nodemailer, undici ...) go into its chunk or a shared
// one loaded with it, so the bundle keeps the lazy loading test/startup-modules.test.ts checks from source.
// The rest of <dist> (tsc's per-file output and the data files deploy/copy-data-files.mjs copied) stays:
// the data files are read at run time.
//
// What a bundle changes, and how it is kept working:
//   - `import.meta.url` in vigil's own sources (data files found next to a module: prices.json, the status
//     page) is rewritten to the URL the module has in tsc's per-file layout, <dist>/<path>.js, so that those
//     relative URLs resolve to the copied data files as they do from the sources.
//   - CommonJS packages inside an ES module bundle call `require` for node's built-ins: a banner gives each
//     output file a real `require` (createRequire).
//   - @grpc/grpc-js finds its channelz and ORCA .proto files through `__dirname` (code vigil never runs: no
//     admin services, no ORCA); those two files get the directory of the installed package instead, so
//     that they would still work. @grpc/proto-loader, which only they load, stays out of the bundle.
//   - A CommonJS package imported lazily (`await import('@grpc/grpc-js')`) gives its exports as `default`
//     only in the bundle: such imports go through src/import-package.ts.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

/** Packages loaded from node_modules at run time instead of bundled (see above). */
export const EXTERNAL = ['@grpc/proto-loader'];
/** The name esbuild gives chunks and lazily imported entries: `<name>-<8 base-32 chars>.js`. */
const CHUNK = /-[A-Z0-9]{8}\.js(\.map)?$/;

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
        return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromOut)}, import.meta.url).href`), loader: 'ts' };
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
        return { contents: source.replaceAll('${__dirname}', "${require('node:path').dirname(require.resolve('@grpc/grpc-js/build/src/index.js'))}"), loader: 'js' };
      });
    },
  };
}

/** Bundles `<root>/app/main.ts` into `<dist>/app/`; returns the output files written. */
export async function bundle(root, dist) {
  const outdir = path.join(dist, 'app');
  // chunks of an earlier build (their names change with their content)
  if (fs.existsSync(outdir)) for (const f of fs.readdirSync(outdir)) if (CHUNK.test(f)) fs.rmSync(path.join(outdir, f));
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['app/main.ts'],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // packages' ES module builds first (OpenTelemetry's, typebox's ...): esbuild drops what is not used of
    // them, which it cannot do in CommonJS
    mainFields: ['module', 'main'],
    outdir,
    chunkNames: '[name]-[hash]',
    sourcemap: true,
    // smaller sources: less to parse at start, and V8 keeps each script's source in the heap (names kept for
    // stack traces and error classes)
    // VIGIL_BUNDLE_MINIFY=0 keeps the identifiers (for a CPU profile that names vigil's functions)
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: process.env.VIGIL_BUNDLE_MINIFY !== '0',
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    external: EXTERNAL,
    plugins: [importMetaUrlPlugin(root, dist, outdir), grpcDirnamePlugin()],
    banner: { js: "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);" },
  });
  if (process.env.VIGIL_BUNDLE_META) fs.writeFileSync(process.env.VIGIL_BUNDLE_META, JSON.stringify(result.metafile));
  return Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = '.', dist = 'dist'] = process.argv.slice(2);
  const files = await bundle(path.resolve(root), path.resolve(root, dist));
  console.log(`bundled app/main.ts into ${files.length} file(s) in ${path.join(dist, 'app')}`);
}
