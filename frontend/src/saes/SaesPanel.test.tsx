import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { at, EVALS } from "./evals";
import { SaesPanel } from "./SaesPanel";

const SAE = {
  id: 3, name: "layer-6", status: "ready", architecture: "topk", hook_name: "blocks.6.hook_resid_post", d_in: 576, d_sae: 4608,
  origin: "trained", created_at: "2026-01-01T00:00:00Z", updated_at: "",
  metrics: { reached_l0: 32, evals: { held_out: { fvu: 0.125 }, splice: { ce_sae: 3.5, ce_clean: 3.25 } }, final: { dead_fraction: 0.02 }, warnings: ["many dead latents"] },
};

describe("SAEs panel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("reads evaluations from where trained SAEs store them", () => {
    const read = (label: string) => EVALS.find((e) => e.label === label)!.read(SAE.metrics);
    expect(read("L0")).toBe(32);
    expect(read("FVU")).toBe(0.125);
    expect(read("ΔCE")).toBe(0.25);
    expect(read("KL")).toBeUndefined();
    expect(at({ a: { b: "x" } }, "a", "b")).toBeUndefined();
  });

  it("shows each SAE's row with its evaluations and warnings", async () => {
    stubApi(({ url }) => (url.includes("/saes?") ? page([SAE]) : page([])));
    renderWithClient(<SaesPanel />);
    const row = await waitFor(() => screen.getByTestId("sae-3"));
    expect(within(row).getByText("layer-6")).toBeInTheDocument();
    expect(within(row).getByText("blocks.6.hook_resid_post")).toBeInTheDocument();
    expect(within(row).getByTestId("sae-warning")).toHaveTextContent("many dead latents");
  });
});
