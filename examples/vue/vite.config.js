import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    vue({
      // The wd-* tags are custom elements, not Vue components: Vue creates them as they are and
      // binds to them with setAttribute, properties (`.prop`) and addEventListener (`@wd-…`).
      template: { compilerOptions: { isCustomElement: (tag) => tag.startsWith('wd-') } },
    }),
  ],
  // Vue and wd-video (of which mqtt.js's browser bundle is 340 kB) make one 500 kB chunk.
  build: { chunkSizeWarningLimit: 1000 },
});
