/**
 * The model dialog's controls of issue 18 point 8: quantization as the server's device allows it
 * (a disabled option says why), the memory estimate before download (token in the body only), and
 * the access token sent with the load and cleared after.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { renderWithClient, stubApi, type Call } from "../test/api";
import { formatBytes } from "../lib/format";
import { AddModelCard, unavailableLine } from "./AddModelCard";

afterEach(() => vi.unstubAllGlobals());

const NO_BNB = "8bit quantization needs bitsandbytes, which is not installed here (pip install bitsandbytes; it needs a CUDA GPU)";

const ESTIMATE = {
  source: "org/tiny", sha: "a".repeat(40), gated: true, family: "llama", n_layers: 30, d_model: 576, d_mlp: 1536,
  vocab_size: 49152, context_length: 8192, n_params: 134_515_008, params_source: "safetensors", checkpoint_dtype: "bfloat16",
  download_bytes: 269_060_552, bytes_by_format: { float32: 538_060_032, float16: 269_030_016, bfloat16: 269_030_016, "8bit": 190_000_000, "4bit": 120_000_000 },
  weight_bytes: 269_030_016, activation_bytes: 63_700_992, logits_bytes: 805_306_368, total_bytes: 1_138_037_376, batch_size: 8, seq_len: 512,
};

function server(options: { name: string; available: boolean; reason: string | null }[]) {
  return stubApi(({ method, url }) => {
    if (url.includes("/models/quantization")) return options;
    if (url.includes("/hub/search")) return { repos: [] };
    if (method === "POST" && url.endsWith("/models/estimate")) return ESTIMATE;
    if (method === "POST") return { id: 1 };
    return undefined;
  });
}

const posts = (calls: Call[], path: string) => calls.filter((c) => c.method === "POST" && c.url.endsWith(path));

describe("add a model", () => {
  it("offers only the quantizations the server can load and says why not", async () => {
    server([
      { name: "none", available: true, reason: null },
      { name: "8bit", available: false, reason: NO_BNB },
      { name: "4bit", available: false, reason: NO_BNB.replace("8bit", "4bit") },
    ]);
    renderWithClient(<AddModelCard />);
    const select = screen.getByTestId("model-quantization");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(3));
    const eight = within(select).getByRole("option", { name: /8-bit/ }) as HTMLOptionElement;
    expect(eight.disabled).toBe(true);
    expect(eight.title).toBe(NO_BNB);
    // One reason worded for both options, not only the first option's.
    expect(screen.getByTestId("quantization-unavailable")).toHaveTextContent(/^8bit and 4bit quantization needs bitsandbytes/);
  });

  it("says each distinct reason once", () => {
    expect(
      unavailableLine([
        { name: "8bit", reason: "8bit quantization needs X" },
        { name: "4bit", reason: "4bit quantization needs Y" },
      ]),
    ).toBe("8bit quantization needs X; 4bit quantization needs Y");
    expect(unavailableLine([{ name: "4bit", reason: null }])).toBe("4bit is unavailable");
  });

  it("sends the chosen quantization and the token with the load, then clears the token", async () => {
    const calls = server([
      { name: "none", available: true, reason: null },
      { name: "8bit", available: true, reason: null },
      { name: "4bit", available: true, reason: null },
    ]);
    renderWithClient(<AddModelCard />);
    fireEvent.change(screen.getByTestId("model-source"), { target: { value: "org/tiny" } });
    await waitFor(() => expect(screen.getAllByRole("option", { name: /4-bit/ })).toHaveLength(1));
    fireEvent.change(screen.getByTestId("model-quantization"), { target: { value: "4bit" } });
    fireEvent.change(screen.getByTestId("model-token"), { target: { value: "hf_secret" } });
    fireEvent.click(screen.getByRole("button", { name: "Download & load" }));
    await waitFor(() => expect(posts(calls, "/models")).toHaveLength(1));
    expect(posts(calls, "/models")[0].body).toMatchObject({ source: "org/tiny", quantization: "4bit", token: "hf_secret" });
    await waitFor(() => expect(screen.getByTestId("model-token")).toHaveValue(""));
    expect(calls.filter((c) => c.url.includes("hf_secret"))).toEqual([]);
  });

  it("estimates memory before download and drops the estimate when the form changes", async () => {
    const calls = server([{ name: "none", available: true, reason: null }]);
    renderWithClient(<AddModelCard />);
    const estimateButton = screen.getByTestId("model-estimate-button");
    expect(estimateButton).toBeDisabled();
    fireEvent.change(screen.getByTestId("model-source"), { target: { value: "org/tiny" } });
    fireEvent.change(screen.getByTestId("model-token"), { target: { value: "hf_gate" } });
    fireEvent.click(estimateButton);
    await waitFor(() => expect(screen.getByTestId("model-estimate")).toBeInTheDocument());
    expect(posts(calls, "/models/estimate")[0].body).toMatchObject({ source: "org/tiny", dtype: "float32", quantization: "none", token: "hf_gate" });
    expect(screen.getByTestId("estimate-total")).toHaveTextContent(formatBytes(ESTIMATE.total_bytes));
    expect(screen.getByText(/gated: needs a token/)).toBeInTheDocument();
    expect(posts(calls, "/models")).toHaveLength(0); // nothing registered, nothing downloaded
    fireEvent.change(screen.getByTestId("model-source"), { target: { value: "org/other" } });
    expect(screen.queryByTestId("model-estimate")).toBeNull();
  });
});
