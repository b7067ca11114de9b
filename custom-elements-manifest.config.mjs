// custom-elements.json, generated from the elements' JSDoc (@summary, @fires, @slot, @csspart,
// @cssprop) and Lit's decorators: editors and frameworks read it to know the tags.
export default {
  globs: ['src/elements/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/**/*.styles.ts'],
  outdir: '.',
  litelement: true,
};
