/**
 * The model and dataset forms take every Hub id the Hub takes (`gpt2`, `wikitext`, `org/name`) and
 * name a malformed one in the form instead of sending it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithClient, stubApi } from "../test/api";
import { ImportCard } from "../datasets/ImportCard";
import { AddModelCard } from "../models/AddModelCard";

afterEach(() => vi.unstubAllGlobals());

function api() {
  return stubApi(({ method, url }) => {
    if (method === "POST") return { id: 1 };
    if (url.includes("/datasets/sources")) return [{ name: "python-stdlib", description: "" }];
    return undefined;
  });
}

describe("Hub ids in the forms", () => {
  it("adds the canonical model gpt2 and refuses a malformed id in the form", async () => {
    const calls = api();
    renderWithClient(<AddModelCard />);
    const source = screen.getByTestId("model-source");
    const submit = screen.getByRole("button", { name: "Download & load" });
    fireEvent.change(source, { target: { value: "a/b/c" } });
    expect(screen.getByTestId("model-source-problem")).toHaveTextContent('more than one "/"');
    expect(submit).toBeDisabled();
    fireEvent.change(source, { target: { value: "/models/local-folder" } });
    expect(screen.queryByTestId("model-source-problem")).toBeNull();
    fireEvent.change(source, { target: { value: "gpt2" } });
    expect(screen.queryByTestId("model-source-problem")).toBeNull();
    fireEvent.click(submit);
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toMatchObject({ source: "gpt2" });
  });

  it("imports the canonical dataset wikitext and refuses a malformed id in the form", async () => {
    const calls = api();
    renderWithClient(<ImportCard />);
    fireEvent.click(screen.getByText("HuggingFace Hub"));
    const repo = screen.getByPlaceholderText("stanfordnlp/imdb");
    fireEvent.change(repo, { target: { value: "has space" } });
    expect(screen.getByTestId("hub-id-problem")).toHaveTextContent("not a Hub id");
    expect(screen.getByTestId("import-submit")).toBeDisabled();
    fireEvent.change(repo, { target: { value: "wikitext" } });
    expect(screen.queryByTestId("hub-id-problem")).toBeNull();
    fireEvent.click(screen.getByTestId("import-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toMatchObject({ source: { kind: "hub", repo_id: "wikitext" } });
  });
});
