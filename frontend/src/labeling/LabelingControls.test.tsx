/**
 * Issue 18 point 12: the labelling estimate shows the run's time and its basis beside the cost;
 * a finished run breaks its scored labels down into high / medium / low, and "View features"
 * opens the browser on its extraction filtered to that run's latents in the band.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { CostEstimate, LabelingJob, LabelingSummary } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { useUi } from "../store/ui";
import { CostEstimateView } from "./CostEstimateView";
import { bandCounts, LabelingBreakdown } from "./LabelingBreakdown";
import { LabelingJobCard } from "./LabelingJobCard";

afterEach(() => {
  vi.unstubAllGlobals();
  useUi.setState({ featureFilter: null, extractionId: null });
});

describe("labelling estimate", () => {
  it("shows the time beside the cost and how it was estimated", () => {
    const estimate = {
      n_features: 120, requests: 240, prompt_tokens: 90_000, completion_tokens: 9_600, cost: 0.12,
      time: { seconds: 640, basis: "past_runs", how: "15 generated tokens/s measured over this model's past runs (300 latents)" },
    } as CostEstimate;
    render(<CostEstimateView estimate={estimate} />);
    expect(screen.getByTestId("labeling-estimate-time")).toHaveTextContent("≈ 10m 40s");
    expect(screen.getByText("Time (from past runs)")).toBeInTheDocument();
    expect(screen.getByTestId("labeling-estimate-how")).toHaveTextContent("15 generated tokens/s measured");
    expect(screen.getByText("$0.1200")).toBeInTheDocument();
  });
});

const HIST = [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]; // bins of 0.1: low 10, medium 11, high 24
const summary = { requested: 50, labelled: 45, unclear: 5, failed: 0, scored: 45, mean_score: 0.7, score_histogram: HIST } as LabelingSummary;
const run = { id: 4, name: "r4", extraction_id: 9, status: "ready", job_id: null, config: { method: "local" }, result: summary, created_at: "2026-01-01T00:00:00Z" } as unknown as LabelingJob;

describe("labelling breakdown", () => {
  it("counts high, medium and low from the score histogram", () => {
    expect(bandCounts(HIST)).toEqual({ high: 24, medium: 11, low: 10 });
  });

  it("opens the feature browser filtered to the run's latents in a band", () => {
    useUi.setState({ panel: "labeling" } as never);
    render(<LabelingBreakdown run={run} summary={summary} />);
    expect(screen.getByTestId("breakdown-high")).toHaveTextContent("high (≥ 0.7) 24 (53%)");
    expect(screen.getByTestId("breakdown-low")).toHaveTextContent("10 (22%)");
    fireEvent.click(screen.getByTestId("breakdown-view-medium"));
    const ui = useUi.getState() as unknown as { panel: string; extractionId: number };
    expect(ui.panel).toBe("features");
    expect(ui.extractionId).toBe(9);
    expect(useUi.getState().featureFilter).toEqual({ labelingId: 4, minScore: 0.5, maxScore: 0.6999999, title: "labelling run r4 · medium" });
    fireEvent.click(screen.getByTestId("breakdown-view-all"));
    expect(useUi.getState().featureFilter).toEqual({ labelingId: 4, minScore: undefined, maxScore: undefined, title: "labelling run r4" });
  });

  it("shows on a finished run's card, not on a running one", () => {
    stubApi(() => undefined);
    vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} }); // the score histogram
    const { unmount } = renderWithClient(<LabelingJobCard run={run} />);
    expect(screen.getByTestId("labeling-breakdown")).toBeInTheDocument();
    unmount();
    renderWithClient(<LabelingJobCard run={{ ...run, status: "running" } as LabelingJob} />);
    expect(screen.queryByTestId("labeling-breakdown")).toBeNull();
  });

  it("says when a run's labels were not scored", () => {
    render(<LabelingBreakdown run={run} summary={{ ...summary, scored: 0, score_histogram: Array(10).fill(0) }} />);
    expect(screen.getByTestId("labeling-breakdown")).toHaveTextContent("Labels were not scored");
    expect(screen.queryByTestId("breakdown-high")).toBeNull();
  });
});
