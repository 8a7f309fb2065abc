import { describe, expect, it } from "vitest";
import { clampFraction, formatBytes, formatChange, formatCount, formatEta, formatNumber, formatPercent } from "./format";

describe("formatEta", () => {
  it("formats seconds, minutes, hours and days", () => {
    expect(formatEta(0.4)).toBe("<1s");
    expect(formatEta(42)).toBe("42s");
    expect(formatEta(187)).toBe("3m 07s");
    expect(formatEta(3600 * 2 + 300)).toBe("2h 05m");
    expect(formatEta(3600 * 50)).toBe("2d 2h");
  });
  it("is empty when unknown", () => {
    expect(formatEta(null)).toBe("");
    expect(formatEta(undefined)).toBe("");
    expect(formatEta(Number.NaN)).toBe("");
    expect(formatEta(-3)).toBe("");
  });
});

describe("formatPercent", () => {
  it("clamps and rounds", () => {
    expect(formatPercent(0.4237)).toBe("42%");
    expect(formatPercent(0.053)).toBe("5.3%");
    expect(formatPercent(1.7)).toBe("100%");
    expect(formatPercent(-1)).toBe("0%");
    expect(formatPercent(null)).toBe("0%");
    expect(clampFraction(Number.NaN)).toBe(0);
  });
});

describe("sizes and counts", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(12 * 2 ** 30)).toBe("12.0 GiB");
    expect(formatBytes(null)).toBe("–");
  });
  it("formats counts and metric values", () => {
    expect(formatCount(12)).toBe("12");
    expect(formatCount(53_000)).toBe("53.0k");
    expect(formatCount(1_234_567)).toBe("1.23M");
    expect(formatNumber(0.000123)).toBe("1.23e-4");
    expect(formatNumber(12.3456)).toBe("12.35");
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(null)).toBe("–");
  });
});

describe("formatChange", () => {
  it("signs a relative change of any size", () => {
    expect(formatChange(0.0467)).toBe("+5%");
    expect(formatChange(-0.3)).toBe("-30%");
    expect(formatChange(3.651)).toBe("+365%");
    expect(formatChange(0.001)).toBe("0%");
    expect(formatChange(-0.004)).toBe("0%");
    expect(formatChange(0.0467, 1)).toBe("+4.7%");
    expect(formatChange(Number.NaN)).toBe("–");
  });
});
