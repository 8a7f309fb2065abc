import { describe, expect, it } from "vitest";
import { addEventMetrics, LIVE_MAX_POINTS, mergeSeries, type MetricSeries, saeNames, seriesFromRows, thinPoints } from "./metrics";

describe("training metric series", () => {
  it("groups REST rows by metric and step, one key per SAE", () => {
    const s = seriesFromRows([
      { sae: "a", step: 50, name: "loss", value: 2 },
      { sae: "b", step: 50, name: "loss", value: 3 },
      { sae: "a", step: 100, name: "loss", value: 1 },
      { sae: "a", step: 50, name: "l0", value: 40 },
    ]);
    expect(s.loss).toEqual([{ step: 50, a: 2, b: 3 }, { step: 100, a: 1 }]);
    expect(s.l0).toEqual([{ step: 50, a: 40 }]);
    expect(saeNames(s)).toEqual(["a", "b"]);
  });

  it("folds live events in order, replacing a repeated step, ignoring non-metric events", () => {
    let s = seriesFromRows([{ sae: "a", step: 50, name: "loss", value: 2 }]);
    s = addEventMetrics(s, { step: 100, metrics: { sae: "a", loss: 1.5, l0: 32, stage: "training" } });
    s = addEventMetrics(s, { step: 100, metrics: { sae: "a", loss: 1.4 } });
    s = addEventMetrics(s, { step: 75, metrics: { sae: "a", loss: 1.8 } });
    const same = addEventMetrics(s, { step: 3, message: "loading" });
    expect(same).toBe(s);
    expect(s.loss.map((p) => [p.step, p.a])).toEqual([
      [50, 2],
      [75, 1.8],
      [100, 1.4],
    ]);
    expect(s.l0).toEqual([{ step: 100, a: 32 }]);
  });
});

describe("long runs", () => {
  const run = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ step: i * 10, a: i === 7777 ? 1000 : 10 / (1 + i), b: i % 5 }));

  it("thins a long series to about the budget, keeping both ends and the spike", () => {
    const points = run(20_000);
    const thin = thinPoints(points, 1000);
    expect(thin.length).toBeLessThanOrEqual(1000 + 2);
    expect(thin.length).toBeGreaterThan(250);
    expect(thin[0].step).toBe(0);
    expect(thin[thin.length - 1].step).toBe(199_990);
    expect(thin.some((p) => p.a === 1000)).toBe(true);
    expect(thin.map((p) => p.step)).toEqual([...thin.map((p) => p.step)].sort((x, y) => x - y));
    expect(thinPoints(points.slice(0, 10), 1000)).toHaveLength(10);
  });

  it("live events past the limit are thinned, and the chart still spans the run", () => {
    let s: MetricSeries = { loss: [] };
    for (let step = 0; step < LIVE_MAX_POINTS + 500; step++) s = addEventMetrics(s, { step, metrics: { sae: "a", loss: 1 / (step + 1) } });
    expect(s.loss.length).toBeLessThanOrEqual(LIVE_MAX_POINTS);
    expect(s.loss[0].step).toBe(0);
    expect(s.loss[s.loss.length - 1].step).toBe(LIVE_MAX_POINTS + 499);
  });

  it("merges the downsampled run with live points past its last step", () => {
    const base = seriesFromRows([
      { sae: "a", step: 0, name: "loss", value: 5 },
      { sae: "a", step: 30_000, name: "loss", value: 1 },
    ]);
    const live: MetricSeries = { loss: [{ step: 29_990, a: 1.1 }, { step: 30_010, a: 0.9 }] };
    expect(mergeSeries(base, live).loss.map((p) => p.step)).toEqual([0, 30_000, 30_010]);
  });
});
