import { describe, expect, it } from "vitest";
import { resolvedSaeName, type SaeSpec } from "./sparsity";

const spec = (over: Partial<SaeSpec>): SaeSpec => ({
  name: null,
  hook_name: "blocks.6.hook_resid_post",
  sae: { architecture: "standard", d_sae: 4608, k: null },
  ...over,
});

describe("resolvedSaeName", () => {
  // The names core/training/config.py's SAETrainConfig.resolved_name gives (Python's :g format).
  it("names an SAE as the trainer does", () => {
    expect(resolvedSaeName(spec({ name: "mine", target_l0: 45 }))).toBe("mine");
    expect(resolvedSaeName(spec({ target_l0: 45 }))).toBe("blocks.6.hook_resid_post.standard.4608.l0_45");
    expect(resolvedSaeName(spec({ target_l0: 32.5, sparsity_coefficient: 5 }))).toBe("blocks.6.hook_resid_post.standard.4608.l0_32.5");
    expect(resolvedSaeName(spec({ sparsity_coefficient: 1e-5 }))).toBe("blocks.6.hook_resid_post.standard.4608.c1e-05");
    expect(resolvedSaeName(spec({ sparsity_coefficient: 0.0004 }))).toBe("blocks.6.hook_resid_post.standard.4608.c0.0004");
    expect(resolvedSaeName(spec({ sparsity_coefficient: 2_500_000 }))).toBe("blocks.6.hook_resid_post.standard.4608.c2.5e+06");
    expect(resolvedSaeName(spec({ sae: { architecture: "topk", d_sae: 4608, k: 32 } }))).toBe("blocks.6.hook_resid_post.topk.4608.k32");
  });
});
