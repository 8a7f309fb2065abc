/**
 * The extraction picker names a running extraction's status as its card does (the job's, live); the
 * selected ready extraction keeps its card, where its follow-up labelling run is followed.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { FeaturesPanel } from "./FeaturesPanel";

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
});
