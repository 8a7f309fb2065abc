/** A training card: a run that failed before logging anything shows its error, not empty charts. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import type { Training } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { TrainingCard } from "./TrainingCard";

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
