// The editors' files, generated at build time from custom-elements.json (which
// test/docs/manifest.test.js checks against the elements' source): VS Code's HTML custom data and
// JetBrains's web-types must list the three tags with every attribute and event, and package.json
// must name them, so that editors find them in node_modules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const readJson = (path) => JSON.parse(readFileSync(new URL(path, root), 'utf8'));
const manifest = readJson('custom-elements.json');
const pkg = readJson('package.json');
const TAGS = ['wd-video-client', 'wd-local-stream', 'wd-conversation'];

const declaration = (tag) => manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.customElement && d.tagName === tag);
const attributesOf = (tag) => (declaration(tag).attributes ?? []).map((a) => a.name).sort();
const eventsOf = (tag) => (declaration(tag).events ?? []).map((e) => e.name).sort();

test('package.json names the editor files, ships them and exports them', () => {
  assert.equal(pkg['web-types'], './web-types.json');
  for (const file of ['web-types.json', 'vscode.html-custom-data.json', 'vscode.css-custom-data.json']) {
    assert.ok(pkg.files.includes(file), `${file} is in the package`);
    assert.equal(pkg.exports[`./${file}`], `./${file}`);
  }
});

test('VS Code custom data lists the three tags with every attribute, and names every event', () => {
  const data = readJson('vscode.html-custom-data.json');
  for (const tag of TAGS) {
    const entry = data.tags.find((t) => t.name === tag);
    assert.ok(entry, `${tag} is in vscode.html-custom-data.json`);
    assert.deepEqual(entry.attributes.map((a) => a.name).sort(), attributesOf(tag), `${tag}'s attributes`);
    assert.ok(attributesOf(tag).length > 0);
    const description = typeof entry.description === 'string' ? entry.description : entry.description.value;
    for (const event of eventsOf(tag)) assert.ok(description.includes(event), `${tag}'s description names ${event}`);
  }
});

test('web-types lists the three tags with every attribute and event', () => {
  const data = readJson('web-types.json');
  assert.equal(data.name, pkg.name);
  assert.equal(data.version, pkg.version);
  const elements = data.contributions.html.elements;
  for (const tag of TAGS) {
    const entry = elements.find((e) => e.name === tag);
    assert.ok(entry, `${tag} is in web-types.json`);
    assert.deepEqual(entry.attributes.map((a) => a.name).sort(), attributesOf(tag), `${tag}'s attributes`);
    const events = (entry.events ?? entry.js?.events ?? []).map((e) => e.name).sort();
    assert.deepEqual(events, eventsOf(tag), `${tag}'s events`);
    assert.ok(events.length > 0);
  }
});
