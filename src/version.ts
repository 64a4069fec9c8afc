/** vigil's version, and the User-Agent its exporters send. */
import fs from 'node:fs';

/** vigil's version (package.json, found from src/ and from the build's dist/src/), shown by the API and the status page. */
export const VERSION = ((): string => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vigil' && pkg.version) return pkg.version;
    } catch {
      // not there: try the next
    }
  }
  return 'unknown';
})();

/** The `User-Agent` of every HTTP request an exporter makes, `vigil/<version>` (Alertmanager sends `Alertmanager/0.25.0`). */
export const USER_AGENT = `vigil/${VERSION}`;
