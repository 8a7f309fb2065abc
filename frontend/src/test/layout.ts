/**
 * jsdom lays nothing out, so recharts' ResponsiveContainer would wait for a size forever: this
 * stubs `ResizeObserver` with one that reports a fixed box at once (no timers). Undo it with
 * `vi.unstubAllGlobals()`.
 */
import { afterAll, beforeAll, vi } from "vitest";

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

/**
 * For a virtualised table in jsdom, which does no layout or scrolling: elements get the height
 * their inline style asks for, a scroller's content is as tall as its first child says, and
 * `scrollTo` moves scrollTop (clamped to the content) and fires the scroll event, as a browser
 * does. Call at the top of a test file: it installs before the file's tests and restores after.
 */
export function fakeScrollLayout(): void {
  const styleHeight = (el: Element | null) => parseFloat((el as HTMLElement | null)?.style.height ?? "") || 0;
  const saved = (["clientHeight", "clientWidth", "scrollHeight"] as const).map((k) => [k, Object.getOwnPropertyDescriptor(HTMLElement.prototype, k)] as const);
  const savedScrollTo = Element.prototype.scrollTo;
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, "clientHeight", {
      configurable: true,
      get(this: HTMLElement) {
        return parseFloat(this.style.height) || 0;
      },
    });
    Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1000 });
    Object.defineProperty(HTMLElement.prototype, "scrollHeight", {
      configurable: true,
      get(this: HTMLElement) {
        return Math.max(styleHeight(this), styleHeight(this.firstElementChild));
      },
    });
    Element.prototype.scrollTo = function (this: Element, opts?: ScrollToOptions | number) {
      const top = typeof opts === "object" ? opts.top : undefined;
      if (top === undefined) return;
      this.scrollTop = Math.min(Math.max(0, top), Math.max(0, this.scrollHeight - this.clientHeight));
      this.dispatchEvent(new Event("scroll"));
    } as Element["scrollTo"];
  });
  afterAll(() => {
    for (const [k, d] of saved) if (d) Object.defineProperty(HTMLElement.prototype, k, d);
    Element.prototype.scrollTo = savedScrollTo;
  });
}
