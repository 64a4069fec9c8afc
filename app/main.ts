/** The process entry point: runs the CLI with the process's arguments and exits with its code. */
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2));
// `run` resolves only once drained; the other commands leave nothing running worth waiting for
process.exit();
