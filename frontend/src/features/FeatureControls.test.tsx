/**
 * Issue 18 point 11: the feature browser's "go to page" box, filters on statistics, category and a
 * labelling run (sent as the API's parameters; a reversed range is said, not sent), the summary
 * strip over every matching latent, and "Export JSON" of a latent's examples.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Extraction, Feature } from "../api/types";
import { renderWithClient, stubApi, type Call } from "../test/api";
import { useUi } from "../store/ui";
import { ExamplesTab } from "./ExamplesTab";
import { FeatureBrowser } from "./FeatureBrowser";
import { fakeScrollLayout } from "../test/layout";

const TOTAL = 1200;
const feature = (i: number) => ({ id: i + 1, extraction_id: 1, sae_id: 1, index: i, frequency: 0.01, max_activation: 3, label: `feature ${i}`, starred: false }) as Feature;
const EXTRACTION = { id: 1, name: "ex", n_features: TOTAL, result: { n_tokens: 1000 }, created_at: "2024-01-01T00:00:00Z", status: "completed" } as unknown as Extraction;
const SUMMARY = { n: 1200, dead: 10, labelled: 800, scored: 600, interpretable: 300, interpretable_score: 0.7, mean_frequency: 0.015, mean_score: 0.66 };

function stub(): Call[] {
  return stubApi(({ url }) => {
    const q = new URL(url, "http://x").searchParams;
    if (url.includes("/features/summary")) return SUMMARY;
    const offset = Number(q.get("offset") ?? 0);
    const limit = Number(q.get("limit") ?? 50);
    const all = Array.from({ length: TOTAL }, (_, i) => feature(i));
    return { items: all.slice(offset, offset + limit), total: TOTAL, offset, limit };
  });
}
const params = (c: Call) => new URL(c.url, "http://x").searchParams;
const lists = (calls: Call[]) => calls.filter((c) => new URL(c.url, "http://x").pathname.endsWith("/features"));

fakeScrollLayout();
afterEach(() => {
  vi.unstubAllGlobals();
  useUi.setState({ featureFilter: null });
});

describe("feature browser controls", () => {
  it("goes to a typed page", async () => {
    stub();
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());
    fireEvent.change(screen.getByTestId("feature-page-input"), { target: { value: "3" } });
    fireEvent.click(screen.getByTestId("feature-page-go"));
    await waitFor(() => expect(screen.getByText("#1000")).toBeInTheDocument());
    await waitFor(() => expect(screen.getByText("page 3 of 3")).toBeInTheDocument());
    fireEvent.change(screen.getByTestId("feature-page-input"), { target: { value: "99" } }); // past the end: the last page
    fireEvent.click(screen.getByTestId("feature-page-go"));
    await waitFor(() => expect(screen.getByText("page 3 of 3")).toBeInTheDocument());
  });

  it("sends the statistics and category filters, and says a reversed range instead of sending it", async () => {
    const calls = stub();
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());
    fireEvent.click(screen.getByTestId("feature-filters-toggle"));
    fireEvent.change(screen.getByTestId("filter-frequency-min"), { target: { value: "25" } });
    fireEvent.change(screen.getByTestId("filter-max-act-max"), { target: { value: "4.5" } });
    fireEvent.change(screen.getByTestId("filter-category"), { target: { value: "syntax" } });
    await waitFor(() => expect(lists(calls).some((c) => params(c).get("category") === "syntax")).toBe(true));
    const last = params(lists(calls).at(-1)!);
    expect([last.get("min_frequency"), last.get("max_max_activation"), last.get("category")]).toEqual(["0.25", "4.5", "syntax"]);
    const summary = calls.filter((c) => c.url.includes("/features/summary")).at(-1)!;
    expect(params(summary).get("min_frequency")).toBe("0.25"); // the strip summarises the same selection
    expect(screen.getByTestId("feature-filters-toggle")).toHaveTextContent("Filters (3)");

    fireEvent.change(screen.getByTestId("filter-score-min"), { target: { value: "0.9" } });
    fireEvent.change(screen.getByTestId("filter-score-max"), { target: { value: "0.2" } });
    expect(await screen.findByTestId("filter-problem")).toHaveTextContent("label score: the minimum is above the maximum");
    await new Promise((r) => setTimeout(r, 400));
    expect(calls.some((c) => params(c).get("min_score") === "0.9")).toBe(false);
  });

  it("shows the interpretable share and mean activation rate of every matching latent", async () => {
    stub();
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    expect(await screen.findByText("25% · 300")).toBeInTheDocument();
    expect(screen.getByTestId("summary-rate")).toHaveTextContent("1.5%");
    expect(screen.getByTestId("summary-labelled-share")).toHaveTextContent("800 / 1,200");
  });

  it("takes over a labelling run's filter handed over by 'View features'", async () => {
    const calls = stub();
    useUi.setState({ featureFilter: { labelingId: 4, minScore: 0.7, title: "labelling run r4 · high" } });
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    expect(await screen.findByTestId("filter-run")).toHaveTextContent("labelling run r4 · high");
    await waitFor(() => expect(lists(calls).some((c) => params(c).get("labeling_id") === "4" && params(c).get("min_score") === "0.7")).toBe(true));
    expect(useUi.getState().featureFilter).toBeNull(); // taken once
    fireEvent.click(screen.getByLabelText("remove the run filter"));
    expect(screen.queryByTestId("filter-run")).toBeNull();
    // Back to the unfiltered list (its first page is answered from the query cache).
    await waitFor(() => expect(screen.getByTestId("feature-filters-toggle")).toHaveTextContent(/^▾ Filters$/));
  });
});

describe("feature examples export", () => {
  it("downloads the latent's examples, up to 200, as JSON", async () => {
    const detail = { examples: [{ tokens: ["a", "b"], acts: [0, 2], center: 1, value: 2 }], histogram: { edges: [], counts: [] }, logit_lens: {}, correlations: [] };
    const calls = stubApi(() => detail);
    const blobs: Blob[] = [];
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), "blob:x"), revokeObjectURL: () => {} }));
    const f = { ...feature(7), label: "seven" } as Feature;
    renderWithClient(<ExamplesTab feature={f} />);
    fireEvent.click(await screen.findByTestId("export-examples"));
    await waitFor(() => expect(blobs).toHaveLength(1));
    const exported = calls.find((c) => params(c).get("examples") === "200")!;
    expect(new URL(exported.url, "http://x").pathname).toMatch(/\/features\/8\/detail$/);
    const json = JSON.parse(await blobs[0].text());
    expect(json.format).toBe("mistudio.feature_examples.v1");
    expect(json.feature.index).toBe(7);
    expect(json.detail.examples[0].tokens).toEqual(["a", "b"]);
  });
});
