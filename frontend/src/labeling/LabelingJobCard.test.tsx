import { describe, expect, it } from "vitest";
import { rateLine } from "./LabelingJobCard";

describe("labelling rate line", () => {
  it("joins only the parts it has, with no stray separator", () => {
    expect(rateLine({ fps: null, eta: 3, failed: null })).toBe("ETA 3s");
    expect(rateLine({ fps: 2.5, eta: 3, failed: null })).toBe("2.5 features/s · ETA 3s");
    expect(rateLine({ fps: null, eta: null, failed: 2 })).toBe("2 failed");
    expect(rateLine({ fps: 1, eta: null, failed: 0 })).toBe("1 features/s");
  });
});
