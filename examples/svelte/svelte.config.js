// Svelte's defaults: plain JavaScript and CSS, compiled in runes mode (Svelte 5).
export default {};
