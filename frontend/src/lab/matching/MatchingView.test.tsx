import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { page, renderWithClient, stubApi, type Call } from "../../test/api";
import { stubResizeObserver } from "../../test/layout";
import { MatchingView } from "./MatchingView";

const sae = (id: number, d_in: number, extra: Record<string, unknown> = {}) => ({
  id, name: `sae-${id}`, status: "ready", architecture: "topk", d_in, d_sae: 64, hook_name: "blocks.1.hook_resid_post", cfg: {}, ...extra,
});
const SAES = [sae(1, 32), sae(2, 32), sae(3, 16)];
const READY = {
  id: 7, name: "sae-1 ~ sae-2", status: "ready", sae_a_id: 1, sae_b_id: 2, config: {}, job_id: "j", path: "/x", lineage: {}, error: null, created_at: "2026-12-07T00:00:00Z",
  result: { n_a: 64, n_b: 64, d_in: 32, threshold: 0.7, share_matched: 0.75, share_b_covered: 0.7, matched: 48, mean_best_cosine: 0.81, histogram: { edges: [-1, 0, 1], counts: [4, 60] }, n_splits: 1, seconds: 0.4, correlation: { tokens: 4096, pairs: 50, mean: 0.62, tokenization_id: 3 } },
};
const PAIRS = {
  items: [
    { a: 5, b: 9, cosine: 0.99, b_best_a_cosine: 0.99, split: false, act_corr: 0.87 },
    { a: 6, b: 11, cosine: 0.52, b_best_a_cosine: 0.6, split: true },
  ],
  total: 2, offset: 0, limit: 50,
  splits: [{ a: 6, parts: [11, 12], cosines: [0.52, 0.5], weights: [0.7, 0.6], r2_parts: 0.98, r2_best: 0.27 }],
};
const FEATURE = (index: number, label: string) => ({ id: 100 + index, index, label, extraction_id: 40, max_activation: 2 });

function handler(opts: { matchings?: unknown[]; extracted?: boolean }) {
  return (call: Call) => {
    const url = new URL(call.url, "http://x");
    if (url.pathname.endsWith("/saes")) return page(SAES);
    if (url.pathname.endsWith("/lab/matchings") && call.method === "POST") return { ...READY, status: "pending", id: 8 };
    if (url.pathname.endsWith("/lab/matchings")) return page(opts.matchings ?? []);
    if (url.pathname.endsWith("/pairs")) return { ...PAIRS, offset: Number(url.searchParams.get("offset") ?? 0) };
    if (url.pathname.endsWith("/extractions")) return page(opts.extracted ? [{ id: url.searchParams.get("sae_id") === "1" ? 40 : 41, status: "ready" }] : []);
    if (url.pathname.endsWith("/features")) {
      const i = Number(url.searchParams.get("q"));
      return page([FEATURE(i + 1000, "other"), FEATURE(i, `label of ${i}`)]);
    }
    if (url.pathname.endsWith("/detail")) return { examples: [], histogram: { edges: [], counts: [] } };
    return {};
  };
}

describe("MatchingView", () => {
  beforeEach(() => stubResizeObserver());
  afterEach(() => vi.unstubAllGlobals());

  it("starts a matching of the chosen pair with the threshold", async () => {
    const calls = stubApi(handler({}));
    renderWithClient(<MatchingView a={1} b={2} />);
    expect(await screen.findByText(/have not been matched yet/)).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("match-threshold"), { target: { value: "0.8" } });
    fireEvent.click(screen.getByTestId("match-run"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ sae_a_id: 1, sae_b_id: 2, config: { threshold: 0.8 } });
  });

  it("names the URL's SAE, never another, when the list does not hold it", async () => {
    stubApi(handler({}));
    renderWithClient(<MatchingView a={9} b={2} />);
    const a = screen.getByTestId("match-a") as HTMLSelectElement;
    const b = screen.getByTestId("match-b") as HTMLSelectElement;
    const shown = (s: HTMLSelectElement) => s.options[s.selectedIndex].text;
    expect([a.value, shown(a)]).toEqual(["9", "#9 (loading…)"]);
    await waitFor(() => expect(shown(b)).toBe("#2 sae-2"));
    expect([a.value, shown(a)]).toEqual(["9", "#9 (not a ready SAE)"]);
    expect(screen.getByTestId("match-run")).toBeEnabled();
  });

  it("asks for the list again once when the URL names an SAE it lacks", async () => {
    let asked = 0;
    const base = handler({});
    const calls = stubApi((call) => {
      if (!new URL(call.url, "http://x").pathname.endsWith("/saes")) return base(call);
      asked += 1; // the first answer predates #9's import behind the list's back
      return page(asked === 1 ? SAES : [...SAES, sae(9, 32)]);
    });
    renderWithClient(<MatchingView a={9} b={2} />);
    const a = screen.getByTestId("match-a") as HTMLSelectElement;
    await waitFor(() => expect(a.options[a.selectedIndex].text).toBe("#9 sae-9"));
    expect(calls.filter((c) => new URL(c.url, "http://x").pathname.endsWith("/saes"))).toHaveLength(2);
  });

  it("refuses SAEs of different widths before any request", async () => {
    const calls = stubApi(handler({}));
    renderWithClient(<MatchingView a={1} b={3} />);
    expect(await screen.findByTestId("match-mismatch")).toHaveTextContent("A writes width 32 and B width 16");
    expect(screen.getByTestId("match-run")).toBeDisabled();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });

  it("shows the share matched, sorts pairs on the server, lists splits and opens a pair side by side", async () => {
    const calls = stubApi(handler({ matchings: [READY], extracted: true }));
    renderWithClient(<MatchingView a={1} b={2} />);
    expect(await screen.findByTestId("match-share")).toHaveTextContent("75.0%");
    expect(screen.getByTestId("match-splits")).toHaveTextContent("1");
    expect(screen.getByTestId("match-correlation")).toHaveTextContent("on 4,096 shared tokens: mean 0.62 over 50 pairs");
    expect(await screen.findByTestId("pair-5")).toHaveTextContent("0.87");
    expect(screen.getByTestId("pair-6")).toHaveTextContent("–");
    expect(screen.getByTestId("split-6")).toHaveTextContent(/A 6 →\s*B 11\s*B 12\s*together 0.98 · best alone 0.27/);
    fireEvent.click(screen.getByTestId("pairs-sort-A"));
    await waitFor(() => expect(calls.some((c) => c.url.includes("/pairs") && c.url.includes("sort=a"))).toBe(true));
    fireEvent.click(screen.getByTestId("pair-5"));
    expect(await screen.findByTestId("pair-label-A")).toHaveTextContent("label of 5");
    expect(await screen.findByTestId("pair-label-B")).toHaveTextContent("label of 9");
  });

  it("says to extract an SAE that has no examples", async () => {
    stubApi(handler({ matchings: [READY], extracted: false }));
    renderWithClient(<MatchingView a={1} b={2} />);
    fireEvent.click(await screen.findByTestId("pair-5"));
    for (const side of ["A", "B"])
      await waitFor(() => expect(screen.getByTestId(`pair-side-${side}`)).toHaveTextContent("extract this SAE to see its examples"));
  });
});
