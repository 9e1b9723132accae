// Builds the web UI (src/) into dist/, which internal/webui embeds. The
// build is deterministic (content-hashed names, no timestamps), so `make
// lint` can rebuild and diff it.
import { defineConfig } from "vite";

export default defineConfig({
  root: __dirname,
  base: "/portal/",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1000,
  },
});
