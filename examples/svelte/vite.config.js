import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [svelte()],
  // wd-video (of which mqtt.js's browser bundle is 340 kB) makes most of one 450 kB chunk.
  build: { chunkSizeWarningLimit: 1000 },
});
