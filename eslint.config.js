// ESLint flat config. `npm run lint` runs it (and `prettier --check`); it is also the first stage
// of `npm test`. Besides the usual recommended sets it enforces the layers of docs/architecture.md:
// no import cycle in src/, src/protocol imports nothing outside itself, src/core never imports lit
// or the elements, and the elements reach the core only through its public entry src/core/index.ts.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import lit from 'eslint-plugin-lit';
import wc from 'eslint-plugin-wc';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/', 'dist/', 'coverage/', 'examples/*/dist/', 'bench/results/', 'test-results/', '.scratch/', 'custom-elements.json'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a required parameter, a discarded element).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Empty catch blocks are how best-effort cleanup (close, stop, unsubscribe) ignores failures.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Validators of ids, topics and config values reject control characters on purpose.
      'no-control-regex': 'off',
    },
  },

  // The browser library.
  {
    files: ['src/**/*.ts'],
    languageOptions: { globals: globals.browser },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import `./x.js` for `./x.ts`, as TypeScript's module resolution wants.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^\\.\\./', message: 'src/protocol is shared by the browser and the server: it imports nothing outside itself.' },
            { regex: '^(?!\\.{1,2}/)', message: 'src/protocol depends on no package (no lit, mqtt, node:*).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(lit|@lit/.*|lit/.*)$', message: 'src/core is framework-free: no lit.' },
            { regex: '(^|/)elements(/|$)', message: 'src/core never imports the elements.' },
            { regex: '^node:', message: 'src/core runs in the browser.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/elements/**/*.ts'],
    ...lit.configs['flat/recommended'],
    ...wc.configs['flat/recommended'],
    plugins: { ...lit.configs['flat/recommended'].plugins, ...wc.configs['flat/recommended'].plugins },
    rules: {
      ...lit.configs['flat/recommended'].rules,
      ...wc.configs['flat/recommended'].rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+core/(?!index\\.js$)',
              message: 'The elements import the core only through its public entry, src/core/index.ts.',
            },
            { regex: '^(\\.\\./)+protocol/', message: 'The elements reach the protocol through the core (src/core/index.ts).' },
          ],
        },
      ],
    },
  },

  // Node: the server, its command, tests, benchmarks, scripts and config files.
  {
    files: ['server/**/*.{js,ts}', 'bin/**/*.js', 'scripts/**/*.js', 'bench/*.js', 'test/**/*.{js,ts}', '*.{js,mjs}', 'examples/*/*.config.js'],
    languageOptions: { globals: globals.node },
  },
  // Tests drive browsers: functions passed to page.evaluate run there.
  {
    files: ['test/**/*.{js,ts}', 'src/**/*.test.ts', 'bench/*.js'],
    // `wdVideo`: the CDN file's global, used in functions that run in the pages.
    languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.mocha, wdVideo: 'readonly' } },
  },
  // Pages and examples that run in the browser.
  {
    files: ['bench/pages/**/*.js', 'examples/*/src/**/*.{js,jsx}', 'test/e2e/pages/**/*.js'],
    languageOptions: { globals: globals.browser },
  },

  prettier,
);
