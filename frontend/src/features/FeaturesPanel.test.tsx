/**
 * The extraction picker names a running extraction's status as its card does (the job's, live); the
 * selected ready extraction keeps its card, where its follow-up labelling run is followed, and the
 * labels that run writes show in the browser when it ends.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { fakeScrollLayout } from "../test/layout";
import { FeaturesPanel } from "./FeaturesPanel";

fakeScrollLayout();

const row = (label: string | null) => ({ id: 11, extraction_id: 4, sae_id: 1, index: 0, frequency: 0.01, max_activation: 3, mean_activation: 1, interpretability: null, label, category: null, description: null, starred: false, top_tokens: null });

describe("features panel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("says 'running' in the picker while the extraction's job runs", async () => {
    stubApi(({ url }) => {
      if (url.includes("/jobs/j1")) return { id: "j1", kind: "extract", status: "running", progress: 0.4, eta_seconds: 12, message: "extracting", error: null, cancel_requested: false, last_seq: 2 };
      if (url.includes("/extractions")) return page([{ id: 3, name: "ex-3", status: "pending", job_id: "j1", error: null, n_features: 512, result: {}, created_at: "2026-01-01T00:00:00Z" }]);
      return page([]);
    });
    renderWithClient(<FeaturesPanel />);
    const card = await screen.findByTestId("extraction-3");
    await waitFor(() => expect(within(card).getByTestId("status")).toHaveTextContent("running"));
    const picker = screen.getByTestId("extraction-select");
    await waitFor(() => expect(within(picker).getByRole("option")).toHaveTextContent("ex-3 (running)"));
  });

  it("keeps the selected ready extraction's card, with the labelling run it queued", async () => {
    stubApi(({ url }) => {
      if (url.includes("/labeling/7")) return { id: 7, name: "rules labels", status: "completed", job_id: "l7", n_labeled: 480, error: null, extraction_id: 4, config: {}, result: {} };
      if (url.includes("/extractions")) return page([{ id: 4, name: "ex-4", status: "ready", job_id: null, error: null, n_features: 512, result: { labeling: { method: "rules", run_id: 7 } }, created_at: "2026-01-01T00:00:00Z" }]);
      return page([]);
    });
    renderWithClient(<FeaturesPanel />);
    const card = await screen.findByTestId("extraction-4");
    await waitFor(() => expect(within(card).getByTestId("follow-up-labeling")).toHaveAttribute("data-state", "completed"));
    expect(within(card).getByTestId("follow-up-labeling")).toHaveTextContent("480 labelled");
  });

  it("shows the labels of the follow-up run in the browser once the run it watched ends", async () => {
    let runCalls = 0;
    stubApi(({ url }) => {
      if (url.includes("/labeling/7")) {
        runCalls += 1;
        const done = runCalls > 1; // running at the first look, finished at the next poll
        return { id: 7, name: "rules labels", status: done ? "completed" : "running", job_id: "l7", n_labeled: done ? 1 : 0, error: null, extraction_id: 4, config: {}, result: {} };
      }
      if (url.includes("/jobs/l7")) return { id: "l7", kind: "label", status: "running", progress: 0.5, eta_seconds: 1, message: "labelling", error: null, cancel_requested: false, last_seq: 1 };
      if (url.includes("/extractions")) return page([{ id: 4, name: "ex-4", status: "ready", job_id: null, error: null, n_features: 1, result: { labeling: { method: "rules", run_id: 7 } }, created_at: "2026-01-01T00:00:00Z" }]);
      if (url.includes("/features/summary")) return { n: 1, labelled: runCalls > 1 ? 1 : 0, interpretable: 0, scored: 0, interpretable_score: 0.7, mean_frequency: 0.01, mean_score: null };
      if (url.includes("/features")) return page([row(runCalls > 1 ? "rules label" : null)]);
      return page([]);
    });
    renderWithClient(<FeaturesPanel />);
    await screen.findByText("unlabelled");
    expect(await screen.findByText("rules label", undefined, { timeout: 5000 })).toBeInTheDocument();
    expect(within(screen.getByTestId("extraction-4")).getByTestId("follow-up-labeling")).toHaveAttribute("data-state", "completed");
  });
});
