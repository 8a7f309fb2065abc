import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { stubResizeObserver } from "../test/layout";
import { renderWithClient, stubApi } from "../test/api";
import { CompareView } from "./CompareView";

const metric = (value: number) => ({ value, low: value * 0.9, high: value * 1.1 });
const POINTS = [
  { id: 1, name: "topk-512", origin: "trained", architecture: "topk", d_sae: 512, model_id: 1, hook_name: "blocks.6.hook_resid_post", eval_status: "ready", metrics: { l0: metric(16), fvu: metric(0.3) } },
  { id: 2, name: "jumprelu-1024", origin: "trained", architecture: "jumprelu", d_sae: 1024, model_id: 1, hook_name: "blocks.6.hook_resid_post", eval_status: "ready", metrics: { l0: metric(40), fvu: metric(0.2) } },
  { id: 3, name: "topk-1024", origin: "trained", architecture: "topk", d_sae: 1024, model_id: 1, hook_name: "blocks.6.hook_resid_post", eval_status: "ready", metrics: { l0: metric(32), fvu: metric(0.25) } },
  { id: 4, name: "saelens/imported", origin: "imported", architecture: "topk", d_sae: 128, model_id: 1, hook_name: "blocks.6.hook_resid_post", eval_status: "none", metrics: {} },
];
const COMPARE = {
  points: POINTS,
  groups: [{ model_id: 1, model_name: "SmolLM2-135M", hook_name: "blocks.6.hook_resid_post", n_saes: 4 }],
  eval_version: "1",
};

describe("SAE lab compare view", () => {
  beforeEach(() => stubResizeObserver());
  afterEach(() => {
    cleanup(); // unmount the chart before ResizeObserver goes
    vi.unstubAllGlobals();
  });

  it("draws the evaluated SAEs, names the Pareto front and lists every SAE", async () => {
    stubApi(({ url }) => (url.includes("/lab/compare") ? COMPARE : undefined));
    renderWithClient(<CompareView />);
    const chart = await waitFor(() => screen.getByTestId("lab-chart"));
    expect(chart).toHaveAttribute("data-points", "3");
    // 3 (L0 32, FVU 0.25) is neither sparser than 1 nor better than 2, yet no one beats it on both
    expect(chart).toHaveAttribute("data-front", "3");
    expect(screen.getByTestId("lab-front")).toHaveTextContent("topk-512 → topk-1024 → jumprelu-1024");
    expect(within(screen.getByTestId("lab-row-4")).getByText("imported")).toBeInTheDocument();
    expect(screen.getByTestId("lab-row-1")).toHaveTextContent("[14.4, 17.6]");
  });

  it("queues evaluations for SAEs without any, with the chosen groups", async () => {
    const calls = stubApi(({ url, method }) =>
      url.includes("/lab/compare") ? COMPARE : method === "POST" ? { evals: [], job_id: "j" } : undefined,
    );
    renderWithClient(<CompareView />);
    const button = await waitFor(() => screen.getByTestId("lab-evaluate-missing"));
    expect(button).toHaveTextContent("Evaluate 1 SAE without evaluations");
    fireEvent.click(screen.getByTestId("lab-eval-probing"));
    fireEvent.change(screen.getByTestId("lab-eval-sequences"), { target: { value: "8" } });
    fireEvent.click(screen.getByTestId("lab-eval-splice"));
    fireEvent.click(button);
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url).toContain("/lab/evals");
    expect(post.body).toEqual({ metrics: ["core", "absorption"], n_sequences: 8, splice: false, sae_ids: [4] });
  });

  it("links two picked SAEs to the matching view", async () => {
    stubApi(({ url }) => (url.includes("/lab/compare") ? COMPARE : undefined));
    renderWithClient(<CompareView />);
    await waitFor(() => screen.getByTestId("lab-pick-1"));
    expect(screen.queryByTestId("lab-match-link")).toBeNull();
    fireEvent.click(screen.getByTestId("lab-pick-1"));
    fireEvent.click(screen.getByTestId("lab-pick-4"));
    expect(screen.getByTestId("lab-match-link")).toHaveAttribute("href", "#/lab/match?a=1&b=4");
    fireEvent.click(screen.getByTestId("lab-pick-2")); // a third pick replaces the older one
    expect(screen.getByTestId("lab-match-link")).toHaveAttribute("href", "#/lab/match?a=4&b=2");
  });

  it("says so when there are no SAEs", async () => {
    stubApi(({ url }) => (url.includes("/lab/compare") ? { points: [], groups: [], eval_version: "1" } : undefined));
    renderWithClient(<CompareView />);
    await waitFor(() => expect(screen.getByText(/No SAEs yet/)).toBeInTheDocument());
  });
});
