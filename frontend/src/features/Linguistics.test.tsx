/**
 * Linguistic analysis in the studio: a latent's summary tab (line, category bars, entities,
 * lemmas; before any analysis a line saying how to run it), the extraction card's button (posts
 * the analysis, then shows its cost next to the extraction's), and the browser's filter params.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Extraction, Feature } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { LinguisticsTab } from "./LinguisticsTab";
import { ExtractionLinguistics, costLine } from "./ExtractionLinguistics";
import { filterParams, filterProblem } from "./FeatureFilters";

const FEATURE = { id: 7, index: 42 } as Feature;
const SUMMARY = {
  index: 42,
  n_examples: 20,
  code_share: 0.1,
  top_category: "VERB",
  top_share: 0.8,
  categories: { VERB: 0.8, "code:keyword": 0.1, NOUN: 0.1 },
  entities: { PERSON: 0.15 },
  stop_share: 0.05,
  punct_share: 0,
  number_share: 0,
  top_lemmas: [["say", 0.5], ["tell", 0.2]],
  category_lemmas: [["say", 0.5], ["tell", 0.2]],
  text: "80% verbs; lemmas: say/tell",
  pipeline: "en_core_web_sm-3.8.0",
};

afterEach(() => vi.unstubAllGlobals());

describe("linguistics tab", () => {
  it("shows the summary line, shares as bars, entities and lemmas", async () => {
    stubApi((c) => (c.url.includes("/features/7/linguistics") ? SUMMARY : undefined));
    renderWithClient(<LinguisticsTab feature={FEATURE} />);
    expect(await screen.findByTestId("ling-text")).toHaveTextContent("80% verbs; lemmas: say/tell");
    const rows = within(screen.getByTestId("ling-categories")).getAllByTestId("share-row");
    expect(rows.map((r) => r.textContent)).toEqual(["VERB80%", "code keyword10%", "NOUN10%"]);
    expect(screen.getByTestId("ling-entities")).toHaveTextContent("PERSON15%");
    expect(screen.getByTestId("ling-lemmas")).toHaveTextContent("say 50%");
    expect(screen.getByTestId("linguistics")).toHaveTextContent("en_core_web_sm-3.8.0");
  });

  it("says how to run the analysis when the extraction has none", async () => {
    stubApi(() => new Response(JSON.stringify({ detail: "extraction 3 has no linguistic analysis yet" }), { status: 404 }));
    renderWithClient(<LinguisticsTab feature={FEATURE} />);
    expect(await screen.findByTestId("ling-missing")).toHaveTextContent("Analyse linguistics");
  });
});

describe("extraction card's analysis", () => {
  const ready = { id: 3, status: "ready", result: {} } as unknown as Extraction;

  it("starts the analysis on the extraction", async () => {
    const calls = stubApi((c) => (c.method === "POST" ? { extraction_id: 3, job_id: "j1", pipeline: "en_core_web_sm" } : undefined));
    renderWithClient(<ExtractionLinguistics extraction={ready} />);
    fireEvent.click(screen.getByTestId("linguistics-start"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url).toContain("/extractions/3/linguistics");
    expect(post.body).toEqual({});
  });

  it("shows what a finished analysis read and cost next to the extraction", async () => {
    const done = { job_id: "j1", ready: true, pipeline: "en_core_web_sm-3.8.0", seconds: 4.12, extraction_seconds: 45, n_windows: 1234, n_code_windows: 1200 };
    stubApi((c) => (c.url.includes("/jobs/j1") ? { id: "j1", status: "completed", progress: 1 } : undefined));
    renderWithClient(<ExtractionLinguistics extraction={{ ...ready, result: { linguistics: done } } as unknown as Extraction} />);
    expect(await screen.findByTestId("linguistics-cost")).toHaveTextContent("1,234 windows (1,200 code) read by en_core_web_sm-3.8.0 in 4.1 s, 9% of the extraction's 45 s");
    expect(screen.getByTestId("linguistics-start")).toHaveTextContent("Analyse again");
    expect(costLine({ n_windows: 2, n_code_windows: 0 })).toBe("2 windows (0 code) read by spaCy");
  });
});

describe("linguistic filters", () => {
  it("become the list's parameters and reversed shares are said, not sent", () => {
    expect(filterParams({ lingCategory: "code:keyword", minLingShare: 0.7 })).toMatchObject({ ling_category: "code:keyword", min_ling_share: 0.7, max_ling_share: undefined });
    expect(filterProblem({ minLingShare: 0.9, maxLingShare: 0.2 })).toBe("linguistic share: the minimum is above the maximum");
    expect(filterProblem({ minLingShare: 2 })).toBe("linguistic share: between 0 and 1");
  });
});
