/**
 * Hand-edited labels and labelling runs in the studio: the dialog sends `overwrite_manual` only
 * when its box is ticked (the server keeps hand edits current otherwise), and a finished run's
 * summary says how many hand-edited labels it kept.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { LabelingSummary } from "../api/types";
import { page, renderWithClient, stubApi } from "../test/api";
import { LabelingDialog } from "./LabelingDialog";
import { LabelingSummaryView } from "./LabelingSummaryView";

const RUN = { id: 7, name: "run", status: "queued", extraction_id: 3, config: {}, n_labeled: 0, result: {}, path: null, job_id: null, lineage: {}, error: null, created_at: "", updated_at: "" };

describe("hand-edited labels in labelling runs", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends overwrite_manual only when the box is ticked", async () => {
    const calls = stubApi((call) => {
      if (call.method === "POST") return RUN;
      if (call.url.includes("/extractions")) return page([{ id: 3, name: "ex", status: "ready", n_features: 64, sae_id: 1, result: {} }]);
      return page([]);
    });
    const onStarted = vi.fn();
    renderWithClient(<LabelingDialog onClose={() => {}} onStarted={onStarted} />);
    await waitFor(() => expect(screen.getByTestId("labeling-extraction")).toHaveValue("3"));
    const box = screen.getByTestId("labeling-overwrite-manual") as HTMLInputElement;
    expect(box.checked).toBe(false);
    fireEvent.click(screen.getByTestId("labeling-start"));
    await waitFor(() => expect(onStarted).toHaveBeenCalledTimes(1));
    fireEvent.click(box);
    fireEvent.click(screen.getByTestId("labeling-start"));
    await waitFor(() => expect(onStarted).toHaveBeenCalledTimes(2));
    const configs = calls.filter((c) => c.method === "POST" && c.url.endsWith("/labeling")).map((c) => (c.body as { config: Record<string, unknown> }).config);
    expect(configs[0]).not.toHaveProperty("overwrite_manual");
    expect(configs[1].overwrite_manual).toBe(true);
  });

  it("says how many hand-edited labels a run kept, and nothing when none", () => {
    const summary = { requested: 10, labelled: 8, failed: 0, kept_manual: 2 } as LabelingSummary;
    const { unmount } = render(<LabelingSummaryView summary={summary} />);
    expect(screen.getByTestId("summary-kept-manual")).toHaveTextContent("2 hand-edited labels kept current");
    unmount();
    render(<LabelingSummaryView summary={{ requested: 10, labelled: 8, failed: 0 }} />);
    expect(screen.queryByTestId("summary-kept-manual")).toBeNull();
  });
});
