#!/usr/bin/env node
// The size budget: measures the CDN bundle (dist/wd-video.min.js, as `npm run build` / the build
// stage of `npm test` wrote it) and a core-only bundle built here in memory (src/core/index.ts with
// mqtt inlined, no elements, no Lit; rollup with the CDN build's resolve plugins, from
// scripts/mqtt-browser/, and terser settings, the TypeScript stripped by esbuild, which is ~50x
// faster than @rollup/plugin-typescript's tsc run), the core also with mqtt.js's keepalive on the
// page's timers (what our Worker timers, shims/worker-timers.js, cost; no budget), prints minified,
// gzip and brotli sizes, and exits 1 when a gzip size is over its budget in size-budget.json.
//   node scripts/size.js            check against the budget
//   node scripts/size.js --json     print the figures as JSON (no check)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import terserModule from '@rollup/plugin-terser';
import { transform } from 'esbuild';
import { rollup } from 'rollup';
import { bundlePlugins, terserOptions } from './mqtt-browser/index.js';

// The plugin's types declare a CommonJS module, so under NodeNext TypeScript sees the module object
// as the default import; Node loads its ES build, whose default export is the plugin function.
const terser = /** @type {typeof terserModule.default} */ (/** @type {unknown} */ (terserModule));

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const budgetFile = join(projectRoot, 'size-budget.json');
const cdnFile = join(projectRoot, 'dist/wd-video.min.js');

export const CDN = 'dist/wd-video.min.js';
export const CLASSIC = 'dist/wd-video.classic.min.js';
export const CORE = 'core (src/core + mqtt)';
/** The core as it would be with mqtt.js's keepalive on the page's timers: what our Worker timers cost. */
export const CORE_NATIVE_TIMERS = 'core with page timers';
export const PEERJS = 'peerjs 1.5.5 (peerjs.min.js)';

/** Minified, gzip (level 9) and brotli (quality 11) bytes of `code`. */
export function measure(code) {
  const buffer = Buffer.from(code);
  return {
    minified: buffer.byteLength,
    gzip: gzipSync(buffer, { level: 9 }).byteLength,
    brotli: brotliCompressSync(buffer, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buffer.byteLength },
    }).byteLength,
  };
}

/** TypeScript to JavaScript with the project's compiler options (no type check: tsc does that). */
function stripTypes() {
  const { compilerOptions } = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8'));
  return {
    name: 'strip-types',
    async transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const result = await transform(code, { loader: 'ts', format: 'esm', target: 'es2022', sourcemap: true, tsconfigRaw: { compilerOptions } });
      return { code: result.code, map: result.map };
    },
  };
}

/**
 * The minified core-only bundle: src/core/index.ts with its dependencies (mqtt built for browsers)
 * inlined; `workerTimers: false` builds it with mqtt.js's keepalive on the page's own timers.
 */
export async function buildCore({ workerTimers = true } = {}) {
  const bundle = await rollup({
    input: join(projectRoot, 'src/core/index.ts'),
    plugins: [...bundlePlugins({ workerTimers, extensions: ['.ts', '.js', '.mjs'] }), stripTypes(), terser(terserOptions)],
    onwarn: () => {},
  });
  try {
    const { output } = await bundle.generate({ format: 'es' });
    if (output.length !== 1) throw new Error(`the core bundle came out as ${output.length} files`);
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

const newestUnder = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }, 0);

/** dist/wd-video.min.js, built first when missing; a warning when src/ is newer than it. */
export function readCdnBundle() {
  if (!existsSync(cdnFile)) {
    console.warn(`${CDN} is missing: building it (rollup -c)`);
    const built = spawnSync(process.execPath, [join(projectRoot, 'node_modules/rollup/dist/bin/rollup'), '-c', '--silent'], {
      cwd: projectRoot,
      stdio: 'inherit',
    });
    if (built.status !== 0) throw new Error('the build failed');
  } else if (newestUnder(join(projectRoot, 'src')) > statSync(cdnFile).mtimeMs) {
    console.warn(`warning: src/ is newer than ${CDN}: run \`npm run build\` first for a current figure`);
  }
  return readFileSync(cdnFile);
}

/** The figures of the bundles (the core also with the page's timers) and of PeerJS's browser build, for the size check and the bench. */
export async function sizes() {
  const result = {
    [CDN]: measure(readCdnBundle()),
    [CLASSIC]: measure(readFileSync(join(projectRoot, CLASSIC))),
    [CORE]: measure(await buildCore()),
    [CORE_NATIVE_TIMERS]: measure(await buildCore({ workerTimers: false })),
  };
  const peerjs = join(projectRoot, 'node_modules/peerjs/dist/peerjs.min.js');
  if (existsSync(peerjs)) result[PEERJS] = measure(readFileSync(peerjs));
  return result;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const started = Date.now();
  const figures = await sizes();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(figures, null, 2));
    process.exit(0);
  }
  const budget = JSON.parse(readFileSync(budgetFile, 'utf8'));
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const over = [];
  console.log('bundle                            minified      gzip    brotli   gzip budget');
  for (const [name, { minified, gzip, brotli }] of Object.entries(figures)) {
    const limit = budget.gzip?.[name];
    const mark = limit === undefined ? '' : gzip > limit ? `${limit}  OVER by ${gzip - limit} B` : `${limit}  ok`;
    if (limit !== undefined && gzip > limit) over.push(name);
    console.log(`${name.padEnd(32)} ${String(minified).padStart(9)} ${String(gzip).padStart(9)} ${String(brotli).padStart(9)}   ${mark}`);
  }
  for (const name of Object.keys(budget.gzip ?? {})) {
    if (!figures[name]) {
      console.error(`size-budget.json names "${name}", which was not built`);
      over.push(name);
    }
  }
  console.log(`(bytes; gzip level 9, brotli quality 11; built in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (over.length) {
    console.error(`over the size budget: ${over.map((n) => `${n} (${kb(figures[n]?.gzip ?? 0)} gzip)`).join(', ')}`);
    console.error('Make it smaller, or raise the budget in size-budget.json on purpose (say why in the commit).');
    process.exit(1);
  }
}
