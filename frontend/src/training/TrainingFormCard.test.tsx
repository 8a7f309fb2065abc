/**
 * The training form starts on a tokenization that can serve the run (not merely the newest: a
 * 65-token probe made after the corpus), and names in one line what the chosen one lacks before
 * Start (its sequences and tokens against the sequences the run holds out).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { MODEL, TOKENIZATIONS } from "../test/inputs";
import { DEFAULT_FORM } from "../lib/trainingForm";
import { useUi } from "../store/ui";
import { TrainingFormCard } from "./TrainingFormCard";

// The form's draft lives in the UI store (it outlives the panel): each test starts without one.
afterEach(() => useUi.setState({ trainingDraft: null }));

function api() {
  return stubApi(({ method, url }) => {
    if (url.includes("/saes/architectures")) return [{ name: DEFAULT_FORM.architecture, description: "", sparsity_control: "penalty", reconstructs_other_hook: false }];
    if (url.includes("/trainings/estimate")) return { total: 1000 };
    if (method === "POST") return { id: 9 };
    if (url.includes("/models")) return page([MODEL]);
    if (url.includes("/tokenizations")) return page(TOKENIZATIONS);
    return page([]);
  });
}

describe("training form input", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("defaults to a tokenization with enough sequences, not the newest", async () => {
    api();
    renderWithClient(<TrainingFormCard />);
    const select = screen.getByTestId("train-tokenization") as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("2"));
    await waitFor(() => expect(screen.getByTestId("train-start")).toBeEnabled());
    expect(screen.queryByTestId("train-input-problem")).toBeNull();
  });

  it("says what the chosen tokenization lacks and holds Start", async () => {
    const calls = api();
    renderWithClient(<TrainingFormCard />);
    const select = screen.getByTestId("train-tokenization") as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("2"));
    fireEvent.change(select, { target: { value: "3" } });
    const problem = await screen.findByTestId("train-input-problem");
    expect(problem).toHaveTextContent("probe has 1 sequence (65 tokens)");
    expect(problem).toHaveTextContent("holds out 16 for evaluation");
    expect(screen.getByTestId("train-start")).toBeDisabled();
    fireEvent.click(screen.getByTestId("train-start"));
    expect(calls.filter((c) => c.method === "POST" && c.url.endsWith("/trainings"))).toHaveLength(0);
  });
});

describe("training form draft", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("keeps what was typed when the panel is left and opened again", async () => {
    api();
    const first = renderWithClient(<TrainingFormCard />);
    await waitFor(() => expect((screen.getByTestId("train-tokenization") as HTMLSelectElement).value).toBe("2"));
    fireEvent.change(screen.getByTestId("train-name"), { target: { value: "my-run" } });
    fireEvent.change(screen.getByTestId("train-steps"), { target: { value: "1234" } });
    first.unmount();

    renderWithClient(<TrainingFormCard />);
    expect(screen.getByTestId("train-name")).toHaveValue("my-run");
    expect(screen.getByTestId("train-steps")).toHaveValue(1234);
  });
});

describe("an architecture's own parameters", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("are fields with their help, sent in the SAE config", async () => {
    const matryoshka = {
      name: "matryoshka_batchtopk", description: "BatchTopK with nested dictionary prefixes", sparsity_control: "k", reconstructs_other_hook: false,
      parameters: [
        { name: "k", default: null, doc: "k", is_list: false },
        { name: "matryoshka_widths", default: null, doc: "matryoshka_batchtopk: the nested prefix widths", is_list: true },
      ],
    };
    const calls = stubApi(({ method, url }) => {
      if (url.includes("/saes/architectures")) return [matryoshka];
      if (url.includes("/trainings/estimate")) return { total: 1000 };
      if (method === "POST") return { id: 9 };
      if (url.includes("/models")) return page([MODEL]);
      if (url.includes("/tokenizations")) return page(TOKENIZATIONS);
      return page([]);
    });
    renderWithClient(<TrainingFormCard />);
    await screen.findByRole("option", { name: "matryoshka_batchtopk" });
    fireEvent.change(screen.getByTestId("train-architecture"), { target: { value: "matryoshka_batchtopk" } });
    const widths = await screen.findByTestId("train-param-matryoshka_widths");
    expect(screen.getByTestId("train-arch-params")).toHaveTextContent("the nested prefix widths");
    fireEvent.change(widths, { target: { value: "96, 384" } });
    await waitFor(() => expect(screen.getByTestId("train-start")).toBeEnabled());
    fireEvent.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/trainings"))).toBe(true));
    const body = calls.find((c) => c.method === "POST" && c.url.endsWith("/trainings"))?.body as { train: { saes: { sae: Record<string, unknown> }[] } };
    expect(body.train.saes[0].sae).toMatchObject({ architecture: "matryoshka_batchtopk", matryoshka_widths: [96, 384] });
  });
});
