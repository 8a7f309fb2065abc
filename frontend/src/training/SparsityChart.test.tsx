import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import type { MetricPoint, Training } from "../api/types";
import { saeNames, seriesFromRows } from "../lib/metrics";
import type { SaeSpec } from "../lib/sparsity";
import { renderWithClient, stubApi } from "../test/api";
import { SparsityCharts } from "./SparsityChart";
import { TrainingCard } from "./TrainingCard";
import { stubResizeObserver } from "../test/layout";

const STANDARD = "blocks.6.hook_resid_post.standard.4608.l0_45";
const FIXED = "blocks.6.hook_resid_post.standard.4608.c5";

/** Metric rows of one SAE: `l0` and `sparsity_coefficient` per step, plus any constant metrics. */
function rows(sae: string, l0: number[], coefficient: (number | null)[], constant: Record<string, number> = {}): MetricPoint[] {
  return l0.flatMap((v, i) => [
    { sae, step: (i + 1) * 50, name: "l0", value: v },
    { sae, step: (i + 1) * 50, name: "sparsity_coefficient", value: coefficient[i] },
    ...Object.entries(constant).map(([name, value]) => ({ sae, step: (i + 1) * 50, name, value })),
  ]);
}

const spec = (over: Partial<SaeSpec> & { architecture?: string; k?: number }): SaeSpec => ({
  name: null,
  hook_name: "blocks.6.hook_resid_post",
  target_l0: null,
  sparsity_coefficient: null,
  sae: { architecture: over.architecture ?? "standard", d_sae: 4608, k: over.k ?? null },
  ...over,
});

function charts(metricRows: MetricPoint[], specs: SaeSpec[], finished: boolean) {
  const series = seriesFromRows(metricRows);
  return render(<SparsityCharts series={series} saes={saeNames(series)} specs={specs} finished={finished} />);
}

describe("sparsity control chart", () => {
  // jsdom lays nothing out: give recharts' ResponsiveContainer a size, at once (no timers).
  beforeEach(() => stubResizeObserver());
  afterEach(() => vi.unstubAllGlobals());

  it("draws the logged target as a dashed line and the latest L0 against it in the training card", async () => {
    stubApi(({ url }) => (url.includes("/metrics") ? rows(STANDARD, [210, 80, 47.1], [3.1, 8, 9.2], { target_l0: 45 }) : []));
    const training = {
      id: 7, name: "auto", status: "running", config: {}, result: {}, step: 150, total_steps: 245, tokens_seen: 614400,
      job_id: null, error: null, created_at: "2026-01-01T00:00:00Z", updated_at: "",
    } as unknown as Training;
    renderWithClient(<TrainingCard training={training} selected={false} onSelect={() => {}} />);
    const chart = await screen.findByTestId("sparsity-chart");
    expect(chart).toHaveAttribute("data-sae", STANDARD);
    expect(within(chart).getByTitle(STANDARD)).toHaveTextContent(STANDARD);
    expect(within(chart).getByTestId("sparsity-summary")).toHaveTextContent("L0 47.1 / target 45 (+5%)");
    expect(within(chart).getByTestId("sparsity-summary")).toHaveClass("text-emerald-300");
    await waitFor(() => expect(within(chart).getByTestId("sparsity-target")).toBeInTheDocument());
    expect(within(chart).getByTestId("sparsity-target")).toHaveAttribute("stroke-dasharray", "4 3");
    expect(within(chart).getByText("target 45")).toBeInTheDocument();
    // Both lines: L0 on the left axis, the coefficient on the right (log) one.
    expect(chart.querySelectorAll(".recharts-line")).toHaveLength(2);
    expect(chart.querySelectorAll(".recharts-yAxis")).toHaveLength(2);
  });

  it("takes the target from the run's config when the run logged none, matched by the SAE's name", () => {
    // A run from before target_l0 was logged: two SAEs, one with a target and one with a fixed
    // coefficient, both logging l0 and sparsity_coefficient.
    const logged = [...rows(FIXED, [60, 40], [5, 5]), ...rows(STANDARD, [120, 52], [2, 4])];
    charts(logged, [spec({ sparsity_coefficient: 5 }), spec({ target_l0: 45 })], false);
    const all = screen.getAllByTestId("sparsity-chart");
    expect(all).toHaveLength(1);
    expect(all[0]).toHaveAttribute("data-sae", STANDARD);
    expect(within(all[0]).getByTestId("sparsity-summary")).toHaveTextContent("L0 52 / target 45 (+16%)");
    expect(within(all[0]).getByTestId("sparsity-target")).toBeInTheDocument();
  });

  it("draws no target it cannot place on an SAE", () => {
    // Two SAEs whose names match no spec: which one has the target is unknown.
    const logged = [...rows("a", [60, 40], [5, 5]), ...rows("b", [120, 52], [2, 4])];
    const { container } = charts(logged, [spec({ target_l0: 45 }), spec({ sparsity_coefficient: 5 })], true);
    expect(container).toBeEmptyDOMElement();
  });

  it("waits for data under the name the SAE will log", () => {
    charts([], [spec({ target_l0: 45 })], false);
    const chart = screen.getByTestId("sparsity-chart");
    expect(chart).toHaveAttribute("data-sae", STANDARD);
    expect(within(chart).getByText("waiting for data…")).toBeInTheDocument();
    expect(within(chart).getByTestId("sparsity-summary")).toHaveTextContent("target 45");
  });

  it("shows nothing for a TopK SAE, which has no controller", () => {
    const logged = rows("blocks.6.hook_resid_post.topk.4608.k32", [32, 32], [null, null]);
    const { container } = charts(logged, [spec({ architecture: "topk", k: 32 })], true);
    expect(container).toBeEmptyDOMElement();
    expect(screen.queryByTestId("sparsity-charts")).toBeNull();
  });

  it("flags a finished run that ended 30% off its target, not one still running", () => {
    const logged = rows(STANDARD, [200, 70, 58.5], [1, 2, 2.5], { target_l0: 45 });
    const { unmount } = charts(logged, [], true);
    const summary = screen.getByTestId("sparsity-summary");
    expect(summary).toHaveTextContent("L0 58.5 / target 45 (+30%)");
    expect(summary).toHaveClass("text-amber-300");
    expect(summary).toHaveAttribute("data-off-target", "true");
    unmount();
    charts(logged, [], false);
    expect(screen.getByTestId("sparsity-summary")).not.toHaveClass("text-amber-300");
    expect(screen.getByTestId("sparsity-summary")).toHaveAttribute("data-off-target", "false");
  });
});
