import { describe, expect, it } from "vitest";
import { axisDomain, chartPoints, colourFor, logTicks, nice125, paretoFront, shapeFor } from "./compare";
import { labRoute, matchUrl } from "./routes";

const point = (id: number, arch: string, d_sae: number, l0: number, fvu: number, ce?: number) => ({
  id, name: `sae-${id}`, origin: "trained", architecture: arch, d_sae, model_id: 1, hook_name: "blocks.6.hook_resid_post", eval_status: "ready" as const,
  metrics: {
    l0: { value: l0, low: l0 - 1, high: l0 + 2 },
    fvu: { value: fvu, low: fvu - 0.01, high: fvu + 0.02 },
    ...(ce === undefined ? {} : { ce_loss_score: { value: ce, low: null, high: null } }),
  },
});

describe("compare chart logic", () => {
  it("finds the Pareto front: no other SAE is sparser and better at once", () => {
    const pts = [
      { id: 1, x: 10, y: 0.5 }, { id: 2, x: 20, y: 0.3 }, { id: 3, x: 30, y: 0.35 }, // 3 is beaten by 2
      { id: 4, x: 40, y: 0.1 }, { id: 5, x: 10, y: 0.6 }, // 5 is beaten by 1 (same x, worse y)
    ];
    expect(paretoFront(pts, "low", "low").map((p) => p.id)).toEqual([1, 2, 4]);
    // higher y better (CE-loss score): the front flips
    expect(paretoFront(pts, "low", "high").map((p) => p.id)).toEqual([5]);
    expect(paretoFront([{ id: 1, x: 1, y: 1 }, { id: 2, x: 1, y: 1 }], "low", "low")).toHaveLength(2);
  });

  it("turns SAEs into points with asymmetric error bars and skips what cannot be drawn", () => {
    const saes = [point(1, "topk", 512, 16, 0.3), point(2, "jumprelu", 1024, 40, 0.2, 0.9), point(3, "topk", 1024, 0, 0.5)];
    const pts = chartPoints(saes, "l0", "fvu", true, false);
    expect(pts.map((p) => p.id)).toEqual([1, 2]); // l0 = 0 has no place on a log axis
    expect(pts[0].xErr).toEqual([1, 2]);
    expect(pts[0].yErr?.[0]).toBeCloseTo(0.01);
    expect(pts[0].yErr?.[1]).toBeCloseTo(0.02);
    expect(pts.every((p) => p.onFront)).toBe(true);
    const ce = chartPoints(saes, "l0", "ce_loss_score");
    expect(ce.map((p) => p.id)).toEqual([2]);
    expect(ce[0].yErr).toBeNull(); // no interval: no bar
  });

  it("gives each architecture a shape and each width a colour, stable in order", () => {
    const archs = ["topk", "jumprelu", "topk"];
    expect(shapeFor(archs, "jumprelu")).toBe("circle");
    expect(shapeFor(archs, "topk")).toBe("square");
    expect(colourFor([4096, 512, null], 4096, ["a", "b", "c"])).toBe("c");
    expect(colourFor([4096, 512], 512, ["a", "b"])).toBe("a");
  });

  it("sizes each axis by its own error bars, with 1-2-5 ticks on a log axis", () => {
    const saes = [point(1, "topk", 512, 16, 0.3), point(2, "jumprelu", 1024, 250, 0.2)];
    const pts = chartPoints(saes, "l0", "fvu", true);
    const [y0, y1] = axisDomain(pts, "y", false);
    expect(y0).toBeGreaterThan(0.1); // the L0 bars (up to 2) do not stretch the FVU axis
    expect(y1).toBeLessThan(0.4);
    // Padded, then out to 1-2-5 values: a tick on each side of every point.
    const x = axisDomain(pts, "x", true);
    expect(x).toEqual([10, 500]);
    expect(logTicks(x)).toEqual([10, 20, 50, 100, 200, 500]);
    const one = axisDomain(pts.slice(0, 1), "x", true);
    expect(logTicks(one)).toEqual([10, 20, 50]); // L0 16 (bars to 18), padded to 13-22
    expect(nice125(0.03, true)).toBe(0.02);
    expect(nice125(0.03, false)).toBe(0.05);
    expect(nice125(200, true)).toBe(200);
    expect(nice125(600, false)).toBe(1000);
    // A domain given too narrow for two 1-2-5 values: the ends and the middle.
    expect(logTicks([0.95, 1.5])).toEqual([1, 1.2, 1.4]);
  });

  it("reads and writes the lab's routes", () => {
    expect(matchUrl(3, 7)).toBe("#/lab/match?a=3&b=7");
    const r = labRoute("#/lab/match?a=3&b=7");
    expect(r.view).toBe("match");
    expect(r.params.get("a")).toBe("3");
    expect(labRoute("#/lab").view).toBe("compare");
    expect(labRoute("#/saes/match").view).toBe("compare");
  });
});
