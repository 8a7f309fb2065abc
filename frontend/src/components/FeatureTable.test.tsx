import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { FeatureTable, parseTopTokens, ROW_HEIGHT, type FeatureRow } from "./FeatureTable";

function feature(i: number): FeatureRow {
  return {
    id: i + 1,
    extraction_id: 1,
    sae_id: 1,
    index: i,
    frequency: 0.001 * (i % 7),
    max_activation: 3,
    mean_activation: 1,
    interpretability: 0.5,
    label: i === 0 ? "<img src=x onerror=alert(1)>" : `feature ${i}`,
    category: "syntax",
    description: null,
    starred: i % 2 === 0,
    top_tokens: JSON.stringify(["def", " return", "<script>"]),
    detection_score: null,
    fuzzing_score: null,
    interpretability_proxy: 0.5,
    label_confidence: null,
    label_method: null,
    label_model: null,
    label_status: null,
    labeled_at: null,
  };
}

// jsdom does no layout: give elements the size their inline style asks for, as a browser would.
const sizes = ["clientHeight", "clientWidth"] as const;
const saved = sizes.map((k) => Object.getOwnPropertyDescriptor(HTMLElement.prototype, k));
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, "clientHeight", {
    configurable: true,
    get(this: HTMLElement) {
      return parseFloat(this.style.height) || 0;
    },
  });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1000 });
});
afterAll(() => sizes.forEach((k, i) => saved[i] && Object.defineProperty(HTMLElement.prototype, k, saved[i]!)));

describe("FeatureTable", () => {
  const rows = Array.from({ length: 10_000 }, (_, i) => feature(i));

  it("renders only the visible rows of 10k", () => {
    const onRange = vi.fn();
    render(
      <FeatureTable
        count={rows.length}
        rowAt={(i) => rows[i]}
        onRange={onRange}
        onOpen={() => {}}
        onStar={() => {}}
        height={400}
        initialRect={{ width: 1000, height: 400 }}
      />,
    );
    const rendered = screen.getAllByTestId("feature-row");
    const visible = Math.ceil(400 / ROW_HEIGHT);
    expect(rendered.length).toBeGreaterThanOrEqual(visible);
    expect(rendered.length).toBeLessThan(visible + 20); // the viewport plus a small overscan
    // The spacer still covers all 10k rows so the scrollbar is right.
    const spacer = screen.getByTestId("feature-scroller").firstElementChild as HTMLElement;
    expect(spacer.style.height).toBe(`${10_000 * ROW_HEIGHT}px`);
    expect(onRange).toHaveBeenCalledWith(0, rendered.length - 1);
    // Labels from the data are text: no element is created from them.
    expect(document.querySelector("img")).toBeNull();
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeInTheDocument();
  });

  it("renders rows further down after scrolling", () => {
    render(
      <FeatureTable count={rows.length} rowAt={(i) => rows[i]} onOpen={() => {}} onStar={() => {}} height={400} initialRect={{ width: 1000, height: 400 }} />,
    );
    const scroller = screen.getByTestId("feature-scroller");
    scroller.scrollTop = 5000 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    const indices = screen.getAllByTestId("feature-row").map((r) => Number(r.dataset.index));
    expect(Math.min(...indices)).toBeGreaterThan(4900);
    expect(indices.length).toBeLessThan(40);
  });

  it("opens a feature on click and stars without opening", () => {
    const onOpen = vi.fn();
    const onStar = vi.fn();
    render(
      <FeatureTable count={3} rowAt={(i) => rows[i]} onOpen={onOpen} onStar={onStar} height={400} initialRect={{ width: 1000, height: 400 }} />,
    );
    fireEvent.click(screen.getAllByTestId("feature-row")[1]);
    expect(onOpen).toHaveBeenCalledWith(rows[1]);
    fireEvent.click(screen.getAllByTestId("star")[2]);
    expect(onStar).toHaveBeenCalledWith(rows[2]);
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it("shows placeholders for rows not loaded yet", () => {
    render(<FeatureTable count={50} rowAt={() => undefined} onOpen={() => {}} onStar={() => {}} height={200} initialRect={{ width: 800, height: 200 }} />);
    expect(screen.queryAllByTestId("star")).toHaveLength(0);
    expect(screen.getAllByTestId("feature-row").length).toBeGreaterThan(0);
  });

  it("parses stored top tokens", () => {
    expect(parseTopTokens('["a"," b"]')).toEqual(["a", " b"]);
    expect(parseTopTokens("x | y")).toEqual(["x", "y"]);
    expect(parseTopTokens(null)).toEqual([]);
  });
});
