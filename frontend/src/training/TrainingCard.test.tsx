/** A training card: a run that failed before logging anything shows its error, not empty charts. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Training } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { TrainingCard } from "./TrainingCard";
import { stubResizeObserver } from "../test/layout";

const failed = {
  id: 4, name: "probe-run", status: "failed", step: 0, total_steps: 300, tokens_seen: 0, job_id: null,
  error: "the tokenization has 1 sequences, not more than eval_sequences (4)", result: {},
  config: { train: { saes: [{ hook_name: "blocks.6.hook_resid_post", sae: { architecture: "standard", d_sae: 256 }, target_l0: 32 }] } },
  created_at: "2026-01-01T00:00:00Z", updated_at: "",
} as unknown as Training;

describe("training card", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows a failed run's error without charts waiting for data that will never come", async () => {
    const calls = stubApi(({ url }) => (url.includes("/metrics") ? [] : undefined));
    renderWithClient(<TrainingCard training={failed} selected={false} onSelect={() => {}} />);
    await waitFor(() => expect(calls.some((c) => c.url.includes("/metrics"))).toBe(true));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByText(/not more than eval_sequences/)).toBeInTheDocument();
    expect(screen.queryByText("waiting for data…")).toBeNull();
    expect(screen.queryByTestId("training-charts")).toBeNull();
  });
});

describe("training card charts", () => {
  // jsdom lays nothing out: give recharts' ResponsiveContainer a size at once.
  beforeEach(() => stubResizeObserver());
  afterEach(() => vi.unstubAllGlobals());

  const A = "blocks.3.hook_resid_post.topk.512.k16";
  const B = "blocks.6.hook_resid_post.topk.512.k16";
  const running = { ...failed, id: 5, name: "two", status: "running", error: null } as unknown as Training;
  const rows = [A, B].flatMap((sae, j) =>
    [1, 2, 3].flatMap((step) => [
      { sae, step: step * 10, name: "loss", value: step === 2 && j === 0 ? 20_000 : 1 + j },
      { sae, step: step * 10, name: "l0", value: 16 },
    ]),
  );

  it("has a legend naming each SAE's colour and a linear/log toggle for the loss", async () => {
    stubApi(({ url }) => (url.includes("/metrics") ? rows : undefined));
    renderWithClient(<TrainingCard training={running} selected={false} onSelect={() => {}} />);
    const items = await screen.findAllByTestId("series-legend-item");
    expect(items.map((i) => i.textContent)).toEqual(["L3 resid_post.topk.512.k16", "L6 resid_post.topk.512.k16"]);
    expect(items[0].getAttribute("title")).toBe(A);
    const loss = screen.getByTestId("chart-loss");
    expect(loss).toHaveAttribute("data-scale", "log");
    const toggle = screen.getByTestId("loss-scale");
    fireEvent.click(toggle);
    expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-scale", "linear");
    fireEvent.click(toggle);
    expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-scale", "log");
  });
});
