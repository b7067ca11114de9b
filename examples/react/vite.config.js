import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // React and wd-video (of which mqtt.js's browser bundle is 340 kB) make one 650 kB chunk.
  build: { chunkSizeWarningLimit: 1000 },
});
