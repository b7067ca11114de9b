// mqtt.js for the browser bundles, built here from the package as published (its CommonJS build,
// mqtt/build/*.js) instead of its prebuilt browser file (mqtt/dist/mqtt.esm.js), which carries
// Node polyfills a page never needs. rollup.config.mjs (the CDN files) and scripts/size.js (the
// core bundle) both take their plugins from here, so the two cannot drift apart.
//
// The modules mqtt.js requires that a browser lacks are replaced by shims in ./shims/, written
// for wd-video (each file says why it exists):
//   stream.js       readable-stream (and the parts of Node's streams mqtt.js uses)
//   buffer.js       the `buffer` package (the parts of Node's Buffer mqtt-packet uses)
//   url.js          Node's url.parse, by WHATWG URL
//   process.js      process.nextTick and env (also for process-nextick-args)
//   debug.js        the `debug` package: silent
//   events.js       the `events` package (Node's EventEmitter)
//   buffer-list.js  bl (mqtt-packet's parser keeps the bytes not yet parsed in a BufferList)
//   rfdc.js         rfdc's deep copy (mqtt.js copies each packet it publishes before storing it)
//   lru-cache.js    lru-cache, by a Map (MQTT 5 topic aliases)
//   unavailable-transport.js   mqtt.js's TCP, TLS, SOCKS, WeChat and Alipay transports: an error
//   worker-timers.js           worker-timers: mqtt.js's keepalive interval in a Worker of ours
//   native-timers.js           worker-timers, when built with `workerTimers: false`
//   ts-helpers.js   one copy of the helpers TypeScript writes into each of mqtt.js's modules
// Kept from npm: mqtt-packet and mqtt.js itself.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjsModule from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terserModule from '@rollup/plugin-terser';
import { rollup } from 'rollup';

// The plugin's types declare a CommonJS module, so under NodeNext TypeScript sees the module object
// as the default import; Node loads its ES build, whose default export is the plugin function.
const commonjs = /** @type {typeof commonjsModule.default} */ (/** @type {unknown} */ (commonjsModule));
const terser = /** @type {typeof terserModule.default} */ (/** @type {unknown} */ (terserModule));
const require = createRequire(import.meta.url);
const shim = (name) => fileURLToPath(new URL(`./shims/${name}.js`, import.meta.url));
/** The directory of an installed package: the nearest one with a package.json above its main file. */
function packageDir(name) {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const mqttDir = packageDir('mqtt');
const mqttBuild = join(mqttDir, 'build') + sep;
const VERSION_MODULE = '\0mqtt-version';
const MQTT_ENTRY = '\0mqtt-entry';

/** The transports in mqtt/build/lib/connect/ that the bundle leaves out. */
const UNAVAILABLE_TRANSPORTS = ['./tcp', './tls', './socks', './wx', './ali'];

/**
 * The Node globals some CommonJS modules read without requiring them, by the directory the modules
 * are in: mqtt.js reads `process` (typeof process?.nextTick, process.versions).
 */
const GLOBALS_READ = [{ dir: mqttBuild, name: 'process', from: `require(${JSON.stringify(shim('process'))})` }];

const TS_HELPERS = /^var (__createBinding|__setModuleDefault|__importStar|__importDefault|__exportStar) = \(this && this\.\1\) \|\| /gm;

/**
 * `code` with each helper TypeScript declared in it (`var __importStar = (this && this.__importStar)
 * || …;`) taken from shims/ts-helpers.js instead, so the bundle has one copy of each, not one per
 * module; the lines removed are left empty, so no line moves. Code without them comes back as is.
 */
function shareTypeScriptHelpers(code) {
  let result = '';
  let from = 0;
  for (const match of code.matchAll(TS_HELPERS)) {
    // The declaration ends at the first `;` outside brackets and strings (the helpers have no regex).
    let end = match.index + match[0].length;
    for (let depth = 0, quote = ''; end < code.length; end++) {
      const char = code[end];
      if (quote) {
        if (char === '\\') end++;
        else if (char === quote) quote = '';
      } else if (char === '"' || char === "'" || char === '`') quote = char;
      else if ('([{'.includes(char)) depth++;
      else if (')]}'.includes(char)) depth--;
      else if (char === ';' && depth === 0) break;
    }
    const declaration = code.slice(match.index, end + 1);
    result +=
      code.slice(from, match.index) +
      `var ${match[1]} = require(${JSON.stringify(shim('ts-helpers'))}).${match[1]};` +
      '\n'.repeat(declaration.split('\n').length - 1);
    from = end + 1;
  }
  return from ? result + code.slice(from) : code;
}

/**
 * Resolves `mqtt` to its CommonJS build and what that build requires to the shims. `workerTimers:
 * false` gives mqtt.js the page's own setInterval instead of our Worker's (shims/worker-timers.js).
 */
/** @param {{ workerTimers: boolean }} options @returns {import('rollup').Plugin} */
function mqttForBrowsers({ workerTimers }) {
  const shims = {
    mqtt: join(mqttBuild, 'index.js'),
    'readable-stream': shim('stream'),
    events: shim('events'),
    buffer: shim('buffer'),
    url: shim('url'),
    process: shim('process'),
    'process-nextick-args': shim('process'),
    debug: shim('debug'),
    'lru-cache': shim('lru-cache'),
    bl: shim('buffer-list'),
    'rfdc/default': shim('rfdc'),
    'worker-timers': shim(workerTimers ? 'worker-timers' : 'native-timers'),
  };
  return {
    name: 'mqtt-for-browsers',
    resolveId(source, importer) {
      if (Object.hasOwn(shims, source)) return shims[source];
      if (!importer?.startsWith(mqttBuild)) return null;
      const from = dirname(importer);
      if (from === join(mqttBuild, 'lib/connect') && UNAVAILABLE_TRANSPORTS.includes(source)) return shim('unavailable-transport');
      // shared.js reads MQTTJS_VERSION from require('../../package.json').
      if (join(from, source) === join(mqttDir, 'package.json')) return VERSION_MODULE;
      return null;
    },
    load(id) {
      return id === VERSION_MODULE ? `export const version = ${JSON.stringify(require('mqtt/package.json').version)};` : null;
    },
    generateBundle(_options, bundle) {
      // A browser bundle stands alone: an import left in it is a module that did not resolve.
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && chunk.imports.length)
          this.error(`${chunk.fileName} imports ${chunk.imports.join(', ')}: a browser bundle must inline everything`);
      }
    },
    transform(code, id) {
      if (!id.startsWith(mqttBuild)) return null;
      const shared = shareTypeScriptHelpers(code);
      // Declared on the first line, so that no line moves (the source map stays right).
      const reads = GLOBALS_READ.filter(({ dir, name }) => id.startsWith(dir) && new RegExp(`\\b${name}\\b`).test(shared));
      if (shared === code && !reads.length) return null;
      return { code: reads.map(({ name, from }) => `var ${name} = ${from};`).join('') + shared, map: null };
    },
  };
}

/**
 * The resolve and CommonJS plugins of a browser bundle with mqtt inlined. `extensions` is passed to
 * node-resolve; `workerTimers` (default true) keeps mqtt.js's keepalive timer in a Web Worker.
 * @param {{ workerTimers?: boolean, extensions?: string[] }} [options]
 */
export function bundlePlugins({ workerTimers = true, extensions } = {}) {
  return [
    mqttForBrowsers({ workerTimers }),
    // preferBuiltins false: a name such as `events` is never Node's module (the shims above stand in).
    nodeResolve({ browser: true, exportConditions: ['browser'], preferBuiltins: false, ...(extensions ? { extensions } : {}) }),
    commonjs({ include: /node_modules/ }),
  ];
}

/**
 * Terser options for those bundles. mqtt.js and mqtt-packet trace every step through `this.log(…)`
 * (`client.log(…)` in mqtt.js's packet handlers) and `debug(…)`, silent here (the debug shim):
 * dropping the calls drops their strings too (the handlers' 21: about 0.34 KB gzip). This
 * holds for any call spelt so in the bundle, ours included; mqtt.js's `log` option goes with it.
 * A second compress pass takes what the first one's inlining left (about 0.2 KB gzip; a third
 * gains nothing).
 */
export const terserOptions = { format: { comments: false }, compress: { pure_funcs: ['this.log', 'client.log', 'debug'], passes: 2 } };

/**
 * mqtt.js alone, built as the bundles carry it, for tests: an ES module whose default export is
 * mqtt's (format 'es'), or a script that sets `var mqtt` (format 'iife'); minified as shipped
 * unless `minify` is false.
 * @param {{ workerTimers?: boolean, format?: 'es' | 'iife', minify?: boolean }} [options]
 */
export async function buildMqtt({ workerTimers = true, format = 'es', minify = true } = {}) {
  /** @type {import('rollup').Plugin} */
  const entry = {
    name: 'mqtt-entry',
    resolveId: (id) => (id === MQTT_ENTRY ? id : null),
    load: (id) => (id === MQTT_ENTRY ? "export { default } from 'mqtt';" : null),
  };
  const bundle = await rollup({
    input: MQTT_ENTRY,
    plugins: [entry, ...bundlePlugins({ workerTimers }), ...(minify ? [terser(terserOptions)] : [])],
    onwarn: () => {},
  });
  try {
    const { output } = await bundle.generate({ format, name: 'mqtt' });
    return output[0].code;
  } finally {
    await bundle.close();
  }
}
