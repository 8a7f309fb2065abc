/**
 * Dataset cards: a failed Hub import says "failed" and its error once each; an uploaded file's card
 * names the file, not the server's folder it was saved in.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import type { Dataset } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { DatasetCard } from "./DatasetCard";

const ERROR = "dataset 'org/missing' not found on the Hub (check the name; a private repo needs a token)";
const base = { n_documents: null, n_bytes: null, created_at: "2026-01-01T00:00:00Z", builtin: false, tokenizations: [] };

function card(d: Partial<Dataset>) {
  return renderWithClient(<DatasetCard dataset={{ ...base, ...d } as Dataset} tokenizations={[]} onTokenize={() => {}} onSamples={() => {}} onStats={() => {}} />);
}

describe("dataset card", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows a failed Hub import's status and error once", async () => {
    stubApi(({ url }) =>
      url.includes("/jobs/j1")
        ? { id: "j1", kind: "import_dataset", status: "failed", progress: 0, eta_seconds: null, message: ERROR, error: ERROR, cancel_requested: false, last_seq: 3 }
        : undefined,
    );
    card({ id: 1, name: "org/missing:train", status: "failed", source_kind: "hub", source: { repo_id: "org/missing", split: "train" }, job_id: "j1", error: ERROR });
    await waitFor(() => expect(screen.getByTestId("job-progress")).toBeInTheDocument());
    expect(screen.getAllByText("failed")).toHaveLength(1);
    expect(screen.getAllByText(ERROR)).toHaveLength(1);
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("names an uploaded file by its name, not the server's path", () => {
    stubApi(() => undefined);
    const path = "/home/studio/.mistudio/uploads/3f2a9c0b1d4e4f6a8b7c9d0e1f2a3b4c/notes.jsonl";
    card({ id: 2, name: "notes.jsonl", status: "ready", source_kind: "local", source: { kind: "local", path }, job_id: null, error: null });
    expect(screen.queryByText(new RegExp(path))).toBeNull();
    expect(screen.getByText(/upload · notes\.jsonl/)).toBeInTheDocument();
  });
});
