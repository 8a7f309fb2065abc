/**
 * jsdom lays nothing out, so recharts' ResponsiveContainer would wait for a size forever: this
 * stubs `ResizeObserver` with one that reports a fixed box at once (no timers). Undo it with
 * `vi.unstubAllGlobals()`.
 */
import { vi } from "vitest";

export function stubResizeObserver(width = 400, height = 140): void {
  vi.stubGlobal(
    "ResizeObserver",
    class {
      constructor(private readonly callback: ResizeObserverCallback) {}
      observe() {
        this.callback([{ contentRect: { width, height } } as ResizeObserverEntry], this as unknown as ResizeObserver);
      }
      unobserve() {}
      disconnect() {}
    },
  );
}
