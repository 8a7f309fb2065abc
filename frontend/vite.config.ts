/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { availableParallelism } from "node:os";

// The studio is served by `mistudio serve` from src/mistudio/api/static; in `npm run dev` the API
// and its WebSocket are proxied to a running studio (MISTUDIO_API, default 127.0.0.1:8000).
const api = process.env.MISTUDIO_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../src/mistudio/api/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      "/api/v1/ws": { target: api.replace(/^http/, "ws"), ws: true },
      "/api": api,
    },
  },
  test: {
    environment: "jsdom",
    // Vitest's default leaves one core free, so a 2-core machine ran the files one by one
    // (112 s); a worker per core ran them in 76 s.
    maxWorkers: availableParallelism(),
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
