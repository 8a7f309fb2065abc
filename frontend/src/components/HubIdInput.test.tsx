/**
 * Hub search while typing a model or dataset id (issue 18 point 7): debounced, keyed by text,
 * never for a local path, a pick fills the field, and a Hub that cannot be reached is one line
 * that leaves the field usable.
 */
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithClient, stubApi } from "../test/api";
import { HubIdInput, type HubKind } from "./HubIdInput";

afterEach(() => vi.unstubAllGlobals());

const HITS = {
  repos: [
    { repo_id: "openai-community/gpt2", downloads: 12_000_000, likes: 3, gated: false, private: false },
    { repo_id: "someone/gpt2-gated", downloads: 40, likes: 0, gated: true, private: false },
  ],
};

function Form({ kind = "models" as HubKind }) {
  const [value, setValue] = useState("");
  return (
    <>
      <HubIdInput kind={kind} value={value} onChange={setValue} testId="hub-id" />
      <output data-testid="value">{value}</output>
    </>
  );
}

const searches = (calls: { url: string }[]) => calls.filter((c) => c.url.includes("/hub/search"));

describe("HubIdInput", () => {
  it("asks once after typing stops and fills the field with a pick", async () => {
    const calls = stubApi(() => HITS);
    renderWithClient(<Form />);
    const input = screen.getByTestId("hub-id");
    fireEvent.focus(input);
    for (const text of ["g", "gp", "gpt", "gpt2"]) fireEvent.change(input, { target: { value: text } });
    await waitFor(() => expect(screen.getByTestId("hub-suggestions")).toBeInTheDocument());
    expect(searches(calls).map((c) => c.url)).toEqual(["/api/v1/models/hub/search?q=gpt2&limit=10"]);
    expect(screen.getByText("someone/gpt2-gated")).toBeInTheDocument();
    expect(screen.getByText("gated")).toBeInTheDocument();
    fireEvent.click(screen.getByText("openai-community/gpt2"));
    expect(screen.getByTestId("value")).toHaveTextContent("openai-community/gpt2");
    expect(screen.queryByTestId("hub-suggestions")).toBeNull();
  });

  it("picks with the keyboard and searches datasets for a dataset field", async () => {
    const calls = stubApi(() => ({ repos: [{ repo_id: "Salesforce/wikitext", downloads: 9, likes: 0, gated: false, private: false }, { repo_id: "wikitext", downloads: 1, likes: 0, gated: false, private: false }] }));
    renderWithClient(<Form kind="datasets" />);
    const input = screen.getByTestId("hub-id");
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: "wiki" } });
    await waitFor(() => expect(screen.getAllByRole("option")).toHaveLength(2));
    expect(searches(calls)[0].url).toBe("/api/v1/datasets/hub/search?q=wiki&limit=10");
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "Enter" });
    expect(screen.getByTestId("value")).toHaveTextContent(/^wikitext$/);
  });

  it("never searches a local path or a single letter", async () => {
    const calls = stubApi(() => HITS);
    renderWithClient(<Form />);
    const input = screen.getByTestId("hub-id");
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: "/models/my-model" } });
    await new Promise((r) => setTimeout(r, 450));
    fireEvent.change(input, { target: { value: "g" } });
    await new Promise((r) => setTimeout(r, 450));
    expect(searches(calls)).toEqual([]);
    expect(screen.queryByTestId("hub-suggestions")).toBeNull();
  });

  it("says in one line when the Hub cannot be reached, and the field still takes any id", async () => {
    stubApi(
      () =>
        new Response(JSON.stringify({ detail: "offline mode (HF_HUB_OFFLINE) is on: no Hub search of models; type the full id" }), {
          status: 503,
        }),
    );
    renderWithClient(<Form />);
    const input = screen.getByTestId("hub-id");
    fireEvent.focus(input);
    fireEvent.change(input, { target: { value: "my-org/private-model" } });
    await waitFor(() => expect(screen.getByTestId("hub-search-error")).toHaveTextContent("type the full id"));
    expect(screen.getByTestId("value")).toHaveTextContent("my-org/private-model");
  });
});
