import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import type { SteeringResult } from "../api/types";
import { CompareView } from "./CompareView";
import { metric, percent, runFinished } from "./format";
import { PickerFeature } from "./PickerFeature";
import { parseStrengths, withFeatures } from "./picking";

const SCRIPT = '<script>window.hacked = true</script><img src=x onerror="alert(1)">';

function output(strength: number | null, text: string) {
  return {
    strength,
    text,
    finite: true,
    metrics: { kl_mean: 0.1234, perplexity: 12.5, similarity: 0.81, similarity_method: "embedding", fire_rate: 0.4583, baseline_fire_rate: 0 },
  };
}

describe("steering compare view", () => {
  it("renders generated text as text: a <script> stays literal", () => {
    const result: SteeringResult = {
      prompts: [{ prompt: "Tell me <b>bold</b>", baseline: { text: SCRIPT, perplexity: 9, fire_rate: 0.125 }, steered: [output(null, `steered ${SCRIPT}`)] }],
    };
    const { container } = render(<CompareView result={result} />);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("b")).toBeNull();
    const outputs = screen.getAllByTestId("steering-output");
    expect(outputs[0].textContent).toBe(SCRIPT);
    expect(outputs[1].textContent).toBe(`steered ${SCRIPT}`);
    expect(screen.getByText("Tell me <b>bold</b>")).toBeInTheDocument();
    expect(screen.getByTestId("steering-metrics").textContent).toContain("KL 0.123");
    expect(screen.getByTestId("steering-fire-rate").textContent).toBe("fires 46% (base 0%)");
    expect(screen.getByText(/Baseline · ppl 9/).textContent).toContain("fires 13%");
    expect((window as unknown as { hacked?: boolean }).hacked).toBeUndefined();
  });

  it("has one sweep row per strength and one column per prompt", () => {
    const strengths = [0, 4, 16];
    const result: SteeringResult = {
      prompts: ["first", "second"].map((p) => ({
        prompt: p,
        baseline: { text: `${p} base` },
        steered: strengths.map((s) => output(s, `${p} at ${s} ${SCRIPT}`)),
      })),
    };
    const { container } = render(<CompareView result={result} />);
    const grid = screen.getByTestId("sweep-grid");
    const rows = within(grid).getAllByTestId("sweep-row");
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      const cells = row.querySelectorAll("td");
      expect(cells).toHaveLength(3);
      expect(cells[0].textContent).toBe(String(strengths[i]));
      expect(cells[1].textContent).toContain(`first at ${strengths[i]} ${SCRIPT}`);
      expect(cells[2].textContent).toContain(`second at ${strengths[i]}`);
    });
    expect(container.querySelector("script")).toBeNull();
  });

  it("parses sweep strengths and NaN metrics", () => {
    expect(parseStrengths("0,2, 4 8,16")).toEqual([0, 2, 4, 8, 16]);
    expect(parseStrengths("")).toEqual([]);
    expect(parseStrengths("1,x")).toBeNull();
    expect(metric("NaN")).toBe("NaN");
    expect(metric(null)).toBe("–");
    expect(percent(0.5)).toBe("50%");
    expect(percent("NaN")).toBe("–");
    expect(percent(undefined)).toBe("–");
  });

  it("treats a run the job marked ready as finished (export shows)", () => {
    expect(runFinished("ready")).toBe(true);
    expect(runFinished("completed")).toBe(true);
    expect(runFinished("running")).toBe(false);
    expect(runFinished("failed")).toBe(false);
  });
});

describe("feature picker", () => {
  it("adds a group of hits once each, keeping what was picked", () => {
    const extraction = { id: 7, sae_id: 3 };
    const one = withFeatures([], [{ index: 5, label: "x", max_activation: 2 }], extraction, 4);
    expect(one).toEqual([{ sae_id: 3, extraction_id: 7, index: 5, label: "x", max_activation: 2, mode: "add", strength: 4, relative: true }]);
    const hits = [5, 9, 9, 12].map((index) => ({ index, label: null, max_activation: 1 }));
    const all = withFeatures(one, hits, extraction, 1);
    expect(all.map((p) => [p.index, p.strength])).toEqual([[5, 4], [9, 1], [12, 1]]);
    // The same index of another SAE is another feature.
    expect(withFeatures(all, [{ index: 5, label: null, max_activation: 1 }], { id: 8, sae_id: 4 }, 1)).toHaveLength(4);
  });

  it("shows a hit's top tokens next to its label, quoted so whitespace tokens are visible", () => {
    render(<PickerFeature feature={{ index: 364, label: null, top_tokens: JSON.stringify([" self", "self", "(", "x"]) }} />);
    expect(screen.getByText("#364")).toBeInTheDocument();
    expect(screen.getByText("unlabelled")).toBeInTheDocument();
    expect(screen.getByTestId("picker-top-tokens").textContent).toBe('" self" "self" "("');
  });

  it("shows no token line when extraction recorded none", () => {
    render(<PickerFeature feature={{ index: 3, label: "the token \"def\"", top_tokens: null }} />);
    expect(screen.queryByTestId("picker-top-tokens")).toBeNull();
  });
});
