/**
 * The extraction dialog starts on the SAE's own tokenization (from its lineage), not the newest
 * one, and names in one line what a chosen tokenization lacks before Extract.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { MODEL, TOKENIZATIONS } from "../test/inputs";
import { ExtractionDialog } from "./ExtractionDialog";

const SAE = { id: 5, name: "run/blocks.6", status: "ready", model_id: 1, hook_name: "blocks.6.hook_resid_post", d_sae: 256, lineage: { tokenization_id: 2, model_id: 1 } };
const TOKS = [...TOKENIZATIONS, { ...TOKENIZATIONS[1], id: 1, name: "older" }];

function api() {
  return stubApi(({ method, url }) => {
    if (method === "POST") return { id: 7 };
    if (url.includes("/saes")) return page([SAE]);
    if (url.includes("/models")) return page([MODEL]);
    if (url.includes("/tokenizations")) return page(TOKS);
    return page([]);
  });
}

describe("extraction dialog input", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("defaults to the tokenization the SAE was trained on", async () => {
    const calls = api();
    renderWithClient(<ExtractionDialog saeId={5} onClose={() => {}} />);
    const select = screen.getByTestId("extraction-tokenization") as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("2"));
    fireEvent.change(screen.getByTestId("extraction-tokens"), { target: { value: "20000" } });
    fireEvent.click(screen.getByTestId("extraction-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toMatchObject({ sae_id: 5, tokenization_id: 2 });
  });

  it("says a tokenization has fewer tokens than asked for and holds Extract", async () => {
    api();
    renderWithClient(<ExtractionDialog saeId={5} onClose={() => {}} />);
    const select = screen.getByTestId("extraction-tokenization") as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("2"));
    fireEvent.change(select, { target: { value: "3" } });
    const problem = await screen.findByTestId("extraction-input-problem");
    expect(problem).toHaveTextContent("probe has 65 tokens; this extraction reads 50,000");
    expect(screen.getByTestId("extraction-submit")).toBeDisabled();
  });
});
