import { describe, expect, it } from "vitest";
import { addEventMetrics, saeNames, seriesFromRows } from "./metrics";

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
