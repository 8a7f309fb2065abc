import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { hooksByLayer } from "./hookPoints";
import { ModelsPanel } from "./ModelsPanel";

const MODEL = {
  id: 2, name: "tiny", status: "registered", source: "org/tiny", source_kind: "hub", builtin: false,
  architecture: null, hook_dims: null, tokenizer_fingerprint: null, created_at: "", updated_at: "",
};

describe("models panel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("groups hook points by layer and ignores other names", () => {
    const byLayer = hooksByLayer(["blocks.0.hook_resid_post", "blocks.0.hook_mlp_out", "blocks.3.hook_resid_pre", "embed"]);
    expect([...byLayer.entries()]).toEqual([
      [0, ["resid_post", "mlp_out"]],
      [3, ["resid_pre"]],
    ]);
  });

  it("offers Load for a registered model and posts it", async () => {
    const calls = stubApi(({ method, url }) => {
      if (method === "POST") return { id: 9 };
      return url.includes("/models?") ? page([MODEL]) : page([]);
    });
    renderWithClient(<ModelsPanel />);
    fireEvent.click(await waitFor(() => screen.getByTestId("model-load")));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url === "/api/v1/models/2/load")).toBe(true));
  });

  it("says a registered model loads quantized", async () => {
    stubApi(({ url }) => (url.includes("/models?") ? page([{ ...MODEL, config: { dtype: "bfloat16", quantization: "4bit" } }]) : page([])));
    renderWithClient(<ModelsPanel />);
    expect(await waitFor(() => screen.getByTestId("model-quantized"))).toHaveTextContent("4bit weights");
  });
});
