/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

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
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
