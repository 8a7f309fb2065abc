/**
 * Issue 18 point 9: before Start the form shows each SAE's sparsity plan, memory per hook point
 * against the device's free memory and a measured time; the dead-latent window reaches the
 * request; a finished card charts every streamed metric and opens the extraction dialog.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import type { Training } from "../api/types";
import { page, renderWithClient, stubApi } from "../test/api";
import { MODEL, TOKENIZATIONS } from "../test/inputs";
import { CHART_METRICS } from "../lib/metrics";
import { DEFAULT_FORM } from "../lib/trainingForm";
import { useUi } from "../store/ui";
import { TrainingCard } from "./TrainingCard";
import { TrainingFormCard } from "./TrainingFormCard";
import { stubResizeObserver } from "../test/layout";

const HOOK = "blocks.6.hook_resid_post";
const ESTIMATE = {
  per_sae: { s: { params: 10, grads: 10, optimizer: 20, buffers: 1, activations: 5, total: 46 } },
  per_hook: { [HOOK]: 262_144 },
  lm_bytes: 0,
  total: 3 * 2 ** 30,
  sparsity: { s: { control: "penalty", start_coefficient: 0.2, target_l0: 32, adapt_steps: 60, hold_steps: 300, warmup_steps: 0, summary: "starts at 0.2, adapts toward target L0 32 during the first 60 steps, then stays" } },
  device_memory: { device: "cpu", free: 2 * 2 ** 30, total: 8 * 2 ** 30 },
};
const TIME = {
  steps: { device: "cpu", steps_timed: 5, seconds_per_step: 0.25, per_sae: { s: 0.25 } },
  forward: { device: "cpu", batch_size: 8, seq_len: 128, forwards_timed: 3, seconds_per_forward: 0.5, tokens_per_second: 2048 },
  total_steps: 300, total_tokens: 307_200, seconds: 225, cached: false,
  method: "5 timed step(s) of every SAE on random activations on cpu, plus 3 forward(s) of the model over 8x128 tokens",
};

function formApi() {
  return stubApi(({ method, url }) => {
    if (url.includes("/saes/architectures")) return [{ name: DEFAULT_FORM.architecture, description: "", sparsity_control: "penalty", reconstructs_other_hook: false, supports_resampling: true }];
    if (url.includes("/trainings/estimate")) return ESTIMATE;
    if (url.includes("/trainings/benchmark")) return TIME;
    if (method === "POST") return { id: 9 };
    if (url.includes("/models")) return page([MODEL]);
    if (url.includes("/tokenizations")) return page(TOKENIZATIONS);
    return page([]);
  });
}

describe("training form plan", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    useUi.setState({ trainingDraft: null });
  });

  it("shows the sparsity plan, memory per hook against free memory, and a measured time", async () => {
    const calls = formApi();
    renderWithClient(<TrainingFormCard />);
    expect(await screen.findByTestId("sparsity-plan")).toHaveTextContent("starts at 0.2, adapts toward target L0 32");
    expect(screen.getByTestId("memory-per-hook")).toHaveTextContent(`${HOOK} 256.0 KiB`);
    expect(screen.getByTestId("memory-per-hook")).toHaveTextContent("total 3.00 GiB");
    expect(screen.getByTestId("memory-free")).toHaveTextContent("of 2.00 GiB free on cpu: too much");
    // Not measured until asked (it takes real steps on the server).
    expect(calls.some((c) => c.url.includes("/benchmark"))).toBe(false);
    await waitFor(() => expect(screen.getByTestId("time-measure")).toBeEnabled());
    fireEvent.click(screen.getByTestId("time-measure"));
    expect(await screen.findByTestId("time-value")).toHaveTextContent("≈ 3m 45s for 300 steps (250 ms/step, model 2,048 tokens/s)");
    const bench = calls.find((c) => c.url.includes("/benchmark"))!;
    const body = bench.body as { model_id: number; tokenization_id: number; train: { total_tokens: number } };
    expect(body.model_id).toBe(1); // streams live: the model's forward is timed too
    expect(body.tokenization_id).toBe(2);
    expect(body.train.total_tokens).toBe(DEFAULT_FORM.steps * DEFAULT_FORM.batchTokens);
  });

  it("sends the dead-latent window and resampling steps from Advanced", async () => {
    const calls = formApi();
    renderWithClient(<TrainingFormCard />);
    await waitFor(() => expect(screen.getByTestId("train-start")).toBeEnabled());
    fireEvent.click(screen.getByTestId("train-advanced"));
    fireEvent.change(screen.getByTestId("train-dead-window"), { target: { value: "250000" } });
    fireEvent.change(screen.getByTestId("train-resample"), { target: { value: "100, 200" } });
    fireEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/trainings"))).toBe(true));
    const body = calls.find((c) => c.method === "POST" && c.url.endsWith("/trainings"))!.body as { train: { saes: { dead_window_tokens: number; resample_steps: number[] }[] } };
    expect(body.train.saes[0].dead_window_tokens).toBe(250_000);
    expect(body.train.saes[0].resample_steps).toEqual([100, 200]);
  });
});

describe("finished training card", () => {
  beforeEach(() => stubResizeObserver());
  afterEach(() => {
    cleanup(); // unmount the charts before ResizeObserver goes
    vi.unstubAllGlobals();
    useUi.setState({ extractSaeId: null });
  });

  const done = {
    id: 7, name: "done", status: "ready", step: 30, total_steps: 30, tokens_seen: 30_720, job_id: null, error: null,
    result: { sae_ids: [12] },
    config: { train: { saes: [{ hook_name: HOOK, sae: { architecture: "topk", d_sae: 256, k: 16 } }] } },
    created_at: "2026-01-01T00:00:00Z", updated_at: "",
  } as unknown as Training;
  const streamed = ["loss", "l0", "fvu", "dead", "lr", "mse", "sparsity_loss", "aux_loss", "grad_norm", "tokens_per_s"];
  const rows = streamed.flatMap((name) => [10, 20, 30].map((step) => ({ sae: "s", step, name, value: step / 10 })));

  it("charts every metric the trainer streams", async () => {
    stubApi(({ url }) => (url.includes("/metrics") ? rows : undefined));
    renderWithClient(<TrainingCard training={done} selected={false} onSelect={() => {}} />);
    await screen.findByTestId("training-charts");
    expect(CHART_METRICS.map((c) => c.name).sort()).toEqual([...streamed].sort());
    for (const title of ["reconstruction (MSE)", "sparsity loss", "aux loss", "gradient norm", "tokens/s"]) {
      expect(screen.getByTestId(`chart-${title}`)).toBeInTheDocument();
    }
  });

  it("opens the extraction dialog for its SAE from 'Extract features'", async () => {
    stubApi(({ url }) => (url.includes("/metrics") ? rows : undefined));
    useUi.setState({ panel: "training" } as never);
    renderWithClient(<TrainingCard training={done} selected={false} onSelect={() => {}} />);
    fireEvent.click(await screen.findByTestId("training-extract-12"));
    expect(useUi.getState().extractSaeId).toBe(12);
    expect((useUi.getState() as unknown as { panel: string }).panel).toBe("features");
  });

  it("offers no extraction while the run is busy", async () => {
    stubApi(({ url }) => (url.includes("/metrics") ? rows : undefined));
    renderWithClient(<TrainingCard training={{ ...done, status: "running" } as Training} selected={false} onSelect={() => {}} />);
    await screen.findByTestId("training-charts");
    expect(screen.queryByTestId("training-extract-12")).toBeNull();
  });
});
