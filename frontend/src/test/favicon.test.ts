/** The page names an icon, and the icon it names is shipped (Vite copies public/ into the build). */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(__dirname, "../..");

describe("favicon", () => {
  it("is linked from index.html and exists as an SVG image", () => {
    const html = new DOMParser().parseFromString(readFileSync(resolve(root, "index.html"), "utf8"), "text/html");
    const link = html.querySelector('link[rel="icon"]');
    expect(link?.getAttribute("href")).toBe("./favicon.svg");
    const svg = new DOMParser().parseFromString(readFileSync(resolve(root, "public/favicon.svg"), "utf8"), "image/svg+xml");
    expect(svg.documentElement.nodeName).toBe("svg");
    expect(svg.querySelector("parsererror")).toBeNull();
  });
});
