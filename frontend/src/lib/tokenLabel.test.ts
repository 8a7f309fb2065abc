import { describe, expect, it } from "vitest";
import { tokenLabel } from "./tokenLabel";

describe("tokenLabel", () => {
  it("never gives a blank label", () => {
    for (const t of ["", " ", "   ", "\u200b", "\ufeff", "Ġ", "▁", "\t", "\r", "\n"]) expect(tokenLabel(t).trim(), JSON.stringify(t)).not.toBe("");
  });
  it("spells out what would show nothing and keeps readable tokens", () => {
    expect(tokenLabel(" ")).toBe("␣");
    expect(tokenLabel("Ġ")).toBe("␣");
    expect(tokenLabel("")).toBe("<empty>");
    expect(tokenLabel("\u200b")).toBe("\\u200B");
    expect(tokenLabel("\r")).toBe("<0x0D>");
    expect(tokenLabel("\n")).toBe("↵");
    expect(tokenLabel(" the")).toBe(" the");
    expect(tokenLabel("<0xE2>")).toBe("<0xE2>");
  });
});
