/** The process entry point: runs the CLI with the process's arguments and exits with its code. */
import { holdForStartup } from '../src/startup-v8.ts';

// V8 settings held while starting: `run` releases them once ready, `validate` exits when done (src/startup-v8.ts); the CLI is imported
// after this so that its own module evaluation is covered too. No top-level await: the build bundles this file as
// CommonJS (deploy/bundle.mjs).
const command = process.argv[2];
if (command === 'run' || command === 'validate') holdForStartup();
void import('./cli.ts').then(async ({ main }) => {
  process.exitCode = await main(process.argv.slice(2));
  // `run` resolves only once drained; the other commands leave nothing running worth waiting for
  process.exit();
});
