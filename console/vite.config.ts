/**
 * Builds the web console into dist/console, which the package ships: users never run this. Asset URLs are
 * relative; the server injects <base href> for wherever the API is mounted, so one build serves any prefix.
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The console's JavaScript budget, gzipped, all chunks together (lazy ones included). */
const JS_BUDGET_BYTES = 350 * 1024;

/**
 * Prints each emitted asset's gzip size, and fails the build over the budget. It writes to stdout itself
 * because `npm run build:console` runs Vite with --logLevel warn, which hides Vite's own size report.
 */
function bundleBudget(): Plugin {
  return {
    name: 'tasker-bundle-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      let jsTotal = 0;
      const lines: string[] = [];
      for (const [name, item] of Object.entries(bundle)) {
        if (!/\.(js|css)$/.test(name)) continue;
        const source = item.type === 'chunk' ? item.code : item.source;
        const raw = typeof source === 'string' ? Buffer.from(source) : Buffer.from(source);
        const gz = gzipSync(raw, { level: 9 }).length;
        if (name.endsWith('.js')) jsTotal += gz;
        lines.push(
          `  ${name.padEnd(40)} ${(raw.length / 1024).toFixed(1).padStart(7)} kB  gzip ${(gz / 1024).toFixed(1).padStart(6)} kB`,
        );
      }
      lines.sort();
      const summary = `  JavaScript total gzip ${(jsTotal / 1024).toFixed(1)} kB of ${JS_BUDGET_BYTES / 1024} kB budget`;
      process.stdout.write(`console bundle:\n${lines.join('\n')}\n${summary}\n`);
      if (jsTotal > JS_BUDGET_BYTES) this.error(`console JavaScript is over budget: ${summary.trim()}`);
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [react(), bundleBudget()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // The server gzips at start-up; report sizes so a growing bundle shows in the build log.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `vite --config console/vite.config.ts` against a local `tasker serve --port 3100`.
    proxy: { '/tasker': { target: 'http://127.0.0.1:3100', changeOrigin: false } },
  },
  preview: {
    proxy: { '/tasker': { target: 'http://127.0.0.1:3100', changeOrigin: false } },
  },
});
