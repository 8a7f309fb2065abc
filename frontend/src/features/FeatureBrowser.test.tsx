/**
 * The feature browser's footer and list against a fake `/features` (1,200 latents, sorted and paged
 * as the API does): the page buttons reach every page and the range label counts the rows in view,
 * not the virtualiser's overscan; a slow answer to an older sort never replaces the newer list.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Extraction, Feature } from "../api/types";
import { renderWithClient } from "../test/api";
import { FeatureBrowser } from "./FeatureBrowser";
import { fakeScrollLayout } from "../test/layout";

const TOTAL = 1200;

function feature(i: number): Feature {
  return {
    id: i + 1,
    extraction_id: 1,
    sae_id: 1,
    index: i,
    frequency: 0.01,
    max_activation: 3,
    mean_activation: 1,
    interpretability: 0.5,
    label: `feature ${i}`,
    category: null,
    description: null,
    starred: false,
    top_tokens: null,
    detection_score: null,
    fuzzing_score: null,
    interpretability_proxy: null,
    label_confidence: null,
    label_method: null,
    label_model: null,
    label_status: null,
    labeled_at: null,
  } as Feature;
}

const EXTRACTION = { id: 1, name: "ex", n_features: TOTAL, result: { n_tokens: 1000 }, created_at: "2024-01-01T00:00:00Z", status: "completed" } as unknown as Extraction;

/** The API's answer for one list request: rows by index in the asked order, one page of them. */
function answer(url: string) {
  const q = new URL(url, "http://x").searchParams;
  const offset = Number(q.get("offset") ?? 0);
  const limit = Number(q.get("limit") ?? 50);
  const all = Array.from({ length: TOTAL }, (_, i) => feature(q.get("order") === "desc" ? TOTAL - 1 - i : i));
  return { items: all.slice(offset, offset + limit), total: TOTAL, offset, limit };
}

fakeScrollLayout();
afterEach(() => vi.unstubAllGlobals());

function stubFeatures(delay: (url: string) => Promise<void> | null = () => null) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      await delay(url);
      return new Response(JSON.stringify(answer(url)), { status: 200 });
    }),
  );
}

const firstIndex = () => Math.min(...screen.getAllByTestId("feature-row").map((r) => Number(r.dataset.index)));

describe("feature browser", () => {
  it("pages through every page with the buttons and counts only the rows in view", async () => {
    stubFeatures();
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());
    // 560 px of 40 px rows: 14 rows in view (the overscan rows below are not "shown").
    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 1–14 of 1,200"));
    expect(screen.getByText("page 1 of 3")).toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "Page ›" }));
    await waitFor(() => expect(screen.getByText("#500")).toBeInTheDocument());
    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 501–514 of 1,200"));
    expect(screen.getByText("page 2 of 3")).toBeInTheDocument();

    fireEvent.click(screen.getByRole("button", { name: "Page ›" }));
    await waitFor(() => expect(screen.getByText("#1000")).toBeInTheDocument());
    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 1,001–1,014 of 1,200"));
    expect(screen.getByText("page 3 of 3")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Page ›" })).toBeDisabled();

    fireEvent.click(screen.getByRole("button", { name: "‹ Page" }));
    await waitFor(() => expect(screen.getByText("page 2 of 3")).toBeInTheDocument());
    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 501–514 of 1,200"));
  });

  it("shows the last page when a short last page is scrolled to the bottom", async () => {
    stubFeatures();
    renderWithClient(<FeatureBrowser extraction={{ ...EXTRACTION, n_features: TOTAL }} />);
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());
    const scroller = screen.getByTestId("feature-scroller");
    scroller.scrollTo({ top: TOTAL * 40 });
    await waitFor(() => expect(screen.getByText("#1199")).toBeInTheDocument());
    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 1,187–1,200 of 1,200"));
    expect(screen.getByText("page 3 of 3")).toBeInTheDocument();
  });

  it("shows the answer to the latest sort when an older answer comes late", async () => {
    let releaseDesc: () => void = () => {};
    const descHeld = new Promise<void>((resolve) => (releaseDesc = resolve));
    stubFeatures((url) => (url.includes("order=desc") ? descHeld : null));
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());

    const order = screen.getByLabelText("sort order");
    fireEvent.click(order); // asc -> desc: its answer is held back
    await waitFor(() => expect(order).toHaveTextContent("desc"));
    fireEvent.click(order); // desc -> asc: answered at once
    await waitFor(() => expect(screen.getByText("#0")).toBeInTheDocument());
    releaseDesc(); // the stale desc answer arrives last
    await new Promise((r) => setTimeout(r, 50));

    await waitFor(() => expect(screen.getByTestId("feature-range")).toHaveTextContent("rows 1–14 of 1,200"));
    expect(screen.getByText("#0")).toBeInTheDocument();
    expect(screen.queryByText("#1199")).toBeNull();
    expect(firstIndex()).toBe(0);
  });
});
