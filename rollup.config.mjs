// Two outputs:
//  - dist/**/*.js + .d.ts: one module per source file, dependencies external, for bundlers
//    (tsc would do the same; rollup keeps one tool and one config).
//  - dist/wd-video.min.js: everything inlined and minified, for a CDN <script type="module">.
//  - dist/wd-video.classic.min.js: the same as a classic script with a global `wdVideo`.
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import minifyTemplates from '@lit-labs/rollup-plugin-minify-html-literals';
import { bundlePlugins, terserOptions } from './scripts/mqtt-browser/index.js';

// Lit's own plugin strips the indentation and newlines inside html`` and css`` templates (which
// terser keeps as text); conservativeCollapse leaves one space wherever there was some, so no
// words run together. About 215 B gzip less in each CDN file.
const templateMinifier = () => minifyTemplates({ failOnError: true, options: { minifyOptions: { conservativeCollapse: true } } });

const isDependency = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');

export default [
  {
    input: { index: 'src/index.ts', 'core/index': 'src/core/index.ts' },
    external: isDependency,
    plugins: [typescript({ tsconfig: './tsconfig.build.json', outDir: 'dist', declaration: true })],
    output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src', sourcemap: true },
  },
  {
    input: 'src/cdn.ts',
    // mqtt is built here from its CommonJS sources with the browser shims of scripts/mqtt-browser/.
    plugins: [
      ...bundlePlugins(),
      typescript({ tsconfig: './tsconfig.build.json', declaration: false, sourceMap: false, outDir: 'dist' }),
      templateMinifier(),
      terser(terserOptions),
    ],
    output: { file: 'dist/wd-video.min.js', format: 'es' },
  },
  {
    // For pages without modules: <script src="wd-video.classic.min.js"> defines the elements and a
    // global `wdVideo`.
    input: 'src/index.ts',
    plugins: [
      ...bundlePlugins(),
      typescript({ tsconfig: './tsconfig.build.json', declaration: false, sourceMap: false, outDir: 'dist' }),
      templateMinifier(),
      terser(terserOptions),
    ],
    output: { file: 'dist/wd-video.classic.min.js', format: 'iife', name: 'wdVideo' },
  },
];
