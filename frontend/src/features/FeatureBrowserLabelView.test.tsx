/**
 * The feature browser's current / best-scored label toggle against a fake `/features`: choosing
 * "best-scored" asks the API for `label_view=best` (keeping the sort), shows the best version's
 * label with a "best" mark where it is not the current one, and "current" goes back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Extraction, Feature } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { FeatureBrowser } from "./FeatureBrowser";

function feature(i: number, over: Partial<Feature> = {}): Feature {
  return {
    id: i + 1,
    extraction_id: 1,
    sae_id: 1,
    index: i,
    frequency: 0.01,
    max_activation: 3,
    mean_activation: 1,
    interpretability: 0.5,
    label: `current ${i}`,
    category: null,
    description: null,
    starred: false,
    top_tokens: null,
    detection_score: null,
    fuzzing_score: null,
    interpretability_proxy: 0.5,
    label_confidence: null,
    label_method: "manual",
    label_model: null,
    label_status: "labelled",
    labeled_at: null,
    best_version_id: null,
    ...over,
  } as Feature;
}

const EXTRACTION = { id: 1, name: "ex", n_features: 3, result: { n_tokens: 1000 }, created_at: "2024-01-01T00:00:00Z", status: "completed" } as unknown as Extraction;

function answer(url: string) {
  const best = new URL(url, "http://x").searchParams.get("label_view") === "best";
  const items = [0, 1, 2].map((i) =>
    best && i === 1 ? feature(i, { label: "best-scored 1", label_method: "local", detection_score: 0.9, fuzzing_score: 0.8, interpretability: 0.85, best_version_id: 77 }) : feature(i),
  );
  return { items, total: items.length, offset: 0, limit: 500 };
}

// jsdom does no layout: give the virtualised table a height so it renders its rows.
const saved = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientHeight");
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 600 });
});
afterAll(() => {
  if (saved) Object.defineProperty(HTMLElement.prototype, "clientHeight", saved);
});

describe("feature browser label view", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("switches between current and best-scored labels", async () => {
    const calls = stubApi((call) => answer(call.url));
    renderWithClient(<FeatureBrowser extraction={EXTRACTION} />);
    await waitFor(() => expect(screen.getAllByTestId("feature-row").length).toBeGreaterThanOrEqual(3));
    expect(screen.queryByTestId("label-best-badge")).toBeNull();
    expect(calls.every((c) => !c.url.includes("label_view"))).toBe(true);

    fireEvent.change(screen.getByTestId("feature-sort"), { target: { value: "label_score" } });
    fireEvent.change(screen.getByTestId("feature-label-view"), { target: { value: "best" } });
    await waitFor(() => expect(screen.getByText("best-scored 1")).toBeInTheDocument());
    const asked = new URL(calls[calls.length - 1].url, "http://x").searchParams;
    expect(asked.get("label_view")).toBe("best");
    expect(asked.get("sort")).toBe("label_score");
    const row = screen.getAllByTestId("feature-row").find((r) => r.textContent?.includes("best-scored 1"))!;
    expect(within(row).getByTestId("label-best-badge")).toHaveTextContent("best");
    expect(row).toHaveTextContent("0.85");
    expect(screen.getAllByTestId("label-best-badge")).toHaveLength(1); // rows showing their current label have none

    fireEvent.change(screen.getByTestId("feature-label-view"), { target: { value: "current" } });
    await waitFor(() => expect(screen.getByText("current 1")).toBeInTheDocument());
    expect(screen.queryByTestId("label-best-badge")).toBeNull();
  });
});
