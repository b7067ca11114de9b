// custom-elements.json, generated from the elements' JSDoc (@summary, @fires, @slot, @csspart,
// @cssprop) and Lit's decorators: editors and frameworks read it to know the tags. From it, the
// ecosystem's two plugins write the editors' own files: VS Code's HTML and CSS custom data, and
// JetBrains's web-types (package.json names them), so the tags, their attributes, events, slots,
// parts and custom properties complete and explain themselves while typing HTML.
import { customElementJetBrainsPlugin } from 'custom-element-jet-brains-integration';
import { customElementVsCodePlugin } from 'custom-element-vs-code-integration';

export default {
  globs: ['src/elements/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/**/*.styles.ts'],
  outdir: '.',
  litelement: true,
  plugins: [
    customElementVsCodePlugin({ outdir: '.', htmlFileName: 'vscode.html-custom-data.json', cssFileName: 'vscode.css-custom-data.json', hideLogs: true }),
    customElementJetBrainsPlugin({ outdir: '.', webTypesFileName: 'web-types.json', packageJson: false, hideLogs: true }),
  ],
};
