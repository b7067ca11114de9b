// The package's root folder (where package.json is), found once. The server's files that are not
// code (server/janus/*.jcfg, server/turn/turnserver.conf) and the files the serve commands serve
// (index.html, dist/, examples) are found from it: the compiled server runs from
// dist/node/server/, two levels below its sources, so paths relative to import.meta.url would
// depend on which of the two is running.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'wd-video';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json of ${NAME} above ${from}`);
  }
}

/** The absolute path of the package's root folder. */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package: `fromPackageRoot('server', 'janus')`. */
export const fromPackageRoot = (...parts: string[]): string => join(packageRoot, ...parts);
