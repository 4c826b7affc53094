// Builds both web clients into web/dist: dist/overlay/index.html, dist/dashboard/index.html and
// shared hashed assets in dist/assets. Runtime settings (emulator hosts, project id, API base
// URLs) are NOT baked in: each app fetches /config.json from the server that serves it.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const here = new URL(".", import.meta.url).pathname;

export default defineConfig({
  root: here,
  base: "/",
  logLevel: "warn",
  build: {
    outDir: resolve(here, "dist"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: {
        overlay: resolve(here, "overlay/index.html"),
        dashboard: resolve(here, "dashboard/index.html"),
      },
    },
  },
});
