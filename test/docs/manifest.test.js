// custom-elements.json (generated from the elements' JSDoc) must describe every public attribute
// and every event the elements fire, and the README must document all of it: a test fails when
// an element gains an attribute or event that the manifest or the README lacks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const read = (path) => readFileSync(new URL(path, root), 'utf8');
const manifest = JSON.parse(read('custom-elements.json'));
const readme = read('README.md');
const TAGS = ['wd-video-client', 'wd-local-stream', 'wd-conversation'];

const declarations = manifest.modules.flatMap((m) => m.declarations ?? []).filter((d) => d.customElement);
const declaration = (tag) => declarations.find((d) => d.tagName === tag);

/** Attributes in the source: every @property whose attribute is not false, dash-cased as Lit does by our convention. */
function sourceAttributes(tag) {
  const source = read(`src/elements/${tag}/${tag}.ts`);
  const attributes = [];
  for (const match of source.matchAll(/@property\(([^)]*)\)\s*(\w+)/g)) {
    const [, options, name] = match;
    if (/attribute:\s*false/.test(options)) continue;
    attributes.push(/attribute:\s*'([^']+)'/.exec(options)?.[1] ?? name.toLowerCase());
  }
  return attributes.sort();
}

const sourceEvents = (tag) => [...new Set([...read(`src/elements/${tag}/${tag}.ts`).matchAll(/fire\(this, '(wd-[a-z-]+)'/g)].map((m) => m[1]))].sort();

for (const tag of TAGS) {
  test(`the manifest lists <${tag}> with every attribute and event of its source`, () => {
    const d = declaration(tag);
    assert.ok(d, `${tag} is in custom-elements.json`);
    assert.deepEqual((d.attributes ?? []).map((a) => a.name).sort(), sourceAttributes(tag));
    const events = (d.events ?? []).map((e) => e.name);
    for (const event of sourceEvents(tag)) assert.ok(events.includes(event), `${tag} fires ${event}, which the manifest (an @fires tag) lacks`);
  });

  test(`the README documents every attribute, event, part and custom property of <${tag}>`, () => {
    const d = declaration(tag);
    const names = [
      ...(d.attributes ?? []).map((a) => a.name),
      ...(d.events ?? []).map((e) => e.name),
      ...(d.cssParts ?? []).map((p) => p.name),
      ...(d.cssProperties ?? []).map((p) => p.name),
    ];
    const missing = names.filter((name) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, [], `README lacks ${missing.join(', ')}`);
  });
}

test('package.json names the manifest and offers the three entry points', () => {
  const pkg = JSON.parse(read('package.json'));
  assert.equal(pkg.customElements, 'custom-elements.json');
  for (const entry of ['.', './core', './cdn', './classic']) assert.ok(pkg.exports[entry], `exports ${entry}`);
});
