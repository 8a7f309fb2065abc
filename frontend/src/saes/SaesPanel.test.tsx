import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { at, EVALS } from "./evals";
import { originSummary } from "./SaeOrigin";
import { SaesPanel } from "./SaesPanel";

const SAE = {
  id: 3, name: "layer-6", status: "ready", architecture: "topk", hook_name: "blocks.6.hook_resid_post", d_in: 576, d_sae: 4608,
  origin: "trained", training_id: 2, model_id: null, created_at: "2026-01-01T00:00:00Z", updated_at: "", lineage: {},
  metrics: { reached_l0: 32, evals: { held_out: { fvu: 0.125 }, splice: { ce_sae: 3.5, ce_clean: 3.25 } }, final: { dead_fraction: 0.02 }, warnings: ["many dead latents"] },
};
const IMPORTED = {
  ...SAE, id: 5, name: "gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical", origin: "imported", training_id: null, model_id: 1,
  metrics: { l0: 82 },
  lineage: {
    origin: "release", release: "gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical", repo: "google/gemma-scope-2b-pt-res",
    path: "layer_12/width_16k/average_l0_82", revision: "abcdef0123456789", format: "gemma_scope", files: { "params.npz": "f".repeat(64) },
  },
};
const MODELS = [{ id: 1, name: "gemma-2-2b", status: "ready" }, { id: 2, name: "tiny", status: "ready" }];

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

  it("says where each SAE came from in one line", () => {
    expect(originSummary(SAE)).toBe("trained · training 2");
    expect(originSummary(IMPORTED)).toBe(
      "gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical · google/gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82 @ abcdef0 · gemma_scope",
    );
    expect(originSummary({ ...IMPORTED, lineage: { origin: "hub", repo: "org/r", path: "", revision: "1234567890", format: "saelens" } })).toBe(
      "hub · org/r @ 1234567 · saelens",
    );
    expect(originSummary({ ...IMPORTED, lineage: { origin: "local", local_path: "/data/sae", format: "sparsify" } })).toBe("local · /data/sae · sparsify");
  });

  it("shows each SAE's row with its evaluations, warnings, origin and export link", async () => {
    stubApi(({ url }) => (url.includes("/saes?") ? page([SAE, IMPORTED]) : url.includes("/models?") ? page(MODELS) : page([])));
    renderWithClient(<SaesPanel />);
    const row = await waitFor(() => screen.getByTestId("sae-3"));
    expect(within(row).getByText("layer-6")).toBeInTheDocument();
    expect(within(row).getByTitle("blocks.6.hook_resid_post")).toHaveTextContent("blocks.6.hook_resid_post");
    expect(within(row).getByTestId("sae-warning")).toHaveTextContent("many dead latents");
    const imported = screen.getByTestId("sae-5");
    expect(within(imported).getByTestId("sae-origin")).toHaveTextContent("@ abcdef0 · gemma_scope");
    fireEvent.click(within(imported).getByText("▸ files"));
    expect(within(imported).getByTestId("sae-origin-files")).toHaveTextContent(`params.npz sha256 ${"f".repeat(64)}`);
    const link = within(imported).getByTestId("sae-export");
    expect(link).toHaveAttribute("href", "/api/v1/saes/5/export.zip");
    expect(link.getAttribute("download")).toMatch(/\.zip$/);
  });

  it("links, relinks and unlinks a model, and shows the server's refusal", async () => {
    const calls = stubApi(({ method, url, body }) => {
      if (method === "PATCH") {
        return (body as { model_id: number | null }).model_id === 2
          ? new Response(JSON.stringify({ detail: "SAE layer-6 has d_in 576 but blocks.6.hook_resid_post of model tiny has width 32" }), { status: 422 })
          : { ...SAE, model_id: (body as { model_id: number | null }).model_id };
      }
      return url.includes("/saes?") ? page([SAE]) : url.includes("/models?") ? page(MODELS) : page([]);
    });
    renderWithClient(<SaesPanel />);
    const select = await waitFor(() => {
      const s = within(screen.getByTestId("sae-3")).getByTestId("sae-link-model");
      expect(s.querySelectorAll("option")).toHaveLength(3);
      return s;
    });
    expect(select).toHaveValue("");
    fireEvent.change(select, { target: { value: "1" } });
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(1));
    expect(calls.find((c) => c.method === "PATCH")).toMatchObject({ url: "/api/v1/saes/3", body: { model_id: 1 } });
    fireEvent.change(select, { target: { value: "2" } });
    expect(await within(screen.getByTestId("sae-3")).findByRole("alert")).toHaveTextContent("has width 32");
    fireEvent.change(select, { target: { value: "" } });
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH").at(-1)?.body).toEqual({ model_id: null }));
  });

  it("offers Extract only once an import is ready", async () => {
    stubApi(({ url }) => (url.includes("/saes?") ? page([{ ...IMPORTED, status: "pending", job_id: null }]) : page([])));
    renderWithClient(<SaesPanel />);
    const row = await waitFor(() => screen.getByTestId("sae-5"));
    expect(within(row).getByTestId("extract-open")).toBeDisabled();
    expect(within(row).queryByTestId("sae-export")).toBeNull();
  });
});
