/**
 * The dataset controls of issue 18 point 16: the tokenize dialog's truncation mode and
 * special-token-only switch reach the request; a running tokenization counts the tokens it has
 * processed and a Hub import the bytes and rows it has fetched, from the job's live events.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Dataset, Tokenization } from "../api/types";
import { formatBytes } from "../lib/format";
import { page, renderWithClient, stubApi, type Call } from "../test/api";
import { setEventSocket } from "../ws/live";
import { EventSocket } from "../ws/socket";
import { DatasetCard } from "./DatasetCard";
import { TokenizationRow } from "./TokenizationRow";
import { FakeWs } from "../test/socket";
import { TokenizeDialog } from "./TokenizeDialog";

let ws: FakeWs;
beforeEach(() => {
  ws = new FakeWs();
  const socket = new EventSocket("ws://studio/ws", { createSocket: () => ws, pingMs: 1e9 });
  socket.start();
  ws.onopen?.({});
  setEventSocket(socket);
});
afterEach(() => {
  vi.unstubAllGlobals();
  setEventSocket(null);
});

const JOB = {
  id: "j1", kind: "tokenize", queue: "cpu", status: "running", progress: 0.1, eta_seconds: null, message: "tokenizing",
  config: {}, result: {}, error: null, resumable: false, cancel_requested: false, attempts: 1, heartbeat_at: null, worker: null,
  artifact_kind: "tokenizations", artifact_id: 4, resources: [], last_seq: 3, created_at: "", started_at: null, finished_at: null,
};

function progress(seq: number, metrics: Record<string, unknown>) {
  ws.deliver({ channel: "jobs/j1", job_id: "j1", seq, type: "progress", data: { progress: 0.2, message: "tokenizing", metrics } });
}

const subscribed = () => ws.sent.some((s) => s.includes('"subscribe"') && s.includes("jobs/j1"));

describe("dataset controls", () => {
  it("sends the truncation mode and the special-token-only switch", async () => {
    const calls: Call[] = stubApi(({ method, url }) => {
      if (method === "POST") return { id: 5 };
      if (url.includes("/models")) return page([{ id: 2, name: "tiny", source: "org/tiny", status: "ready" }]);
      return page([]);
    });
    const dataset = { id: 1, name: "notes" } as Dataset;
    renderWithClient(<TokenizeDialog dataset={dataset} onClose={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("tokenize-submit")).toBeEnabled());
    expect(screen.getByTestId("tokenize-stride")).toBeEnabled();
    fireEvent.change(screen.getByTestId("tokenize-long-documents"), { target: { value: "truncate" } });
    expect(screen.getByTestId("tokenize-stride")).toBeDisabled();
    fireEvent.change(screen.getByTestId("tokenize-max-length"), { target: { value: "64" } });
    fireEvent.click(screen.getByTestId("tokenize-drop-special"));
    fireEvent.click(screen.getByTestId("tokenize-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const body = calls.find((c) => c.method === "POST")!.body as { config: Record<string, unknown> };
    // The stride is unused when truncating and is sent within max_length so the config validates.
    expect(body.config).toMatchObject({ long_documents: "truncate", drop_special_only: false, max_length: 64, stride: 64 });
  });

  it("counts the tokens a running tokenization has processed", async () => {
    stubApi(({ url }) => (url.includes("/jobs/j1") ? JOB : undefined));
    const tok = { id: 4, name: "notes · tiny", status: "running", job_id: "j1", n_sequences: null, n_tokens: null, max_length: 128 } as unknown as Tokenization;
    renderWithClient(<TokenizationRow tokenization={tok} onStats={() => {}} />);
    await waitFor(() => expect(subscribed()).toBe(true));
    expect(screen.queryByTestId("tokens-processed")).toBeNull();
    progress(4, { documents: 300, tokens: 12345, truncated: 0 });
    expect(screen.getByTestId("tokens-processed")).toHaveTextContent("12,345 tokens processed · 300 documents kept");
    progress(5, { documents: 610, tokens: 25002, truncated: 3 });
    expect(screen.getByTestId("tokens-processed")).toHaveTextContent("25,002 tokens processed · 610 documents kept · 3 truncated");
  });

  it("shows the bytes and rows of a Hub import as they arrive", async () => {
    stubApi(({ url }) => (url.includes("/jobs/j1") ? { ...JOB, kind: "dataset_import" } : undefined));
    const d = {
      id: 7, name: "org/noisy", status: "running", job_id: "j1", source_kind: "hub", source: { repo_id: "org/noisy", split: "train" },
      builtin: false, n_documents: null, n_bytes: null, info: {}, created_at: "", updated_at: "", error: null,
    } as unknown as Dataset;
    renderWithClient(<DatasetCard dataset={d} tokenizations={[]} onTokenize={() => {}} onSamples={() => {}} onStats={() => {}} />);
    await waitFor(() => expect(subscribed()).toBe(true));
    progress(4, { stage: "downloading", bytes: 3_000_000, bytes_total: 12_000_000 });
    expect(screen.getByTestId("import-counters")).toHaveTextContent(`${formatBytes(3_000_000)} of ~${formatBytes(12_000_000)} downloaded`);
    progress(5, { stage: "rows read", rows: 1200, documents: 1200 });
    expect(screen.getByTestId("import-counters")).toHaveTextContent("1,200 rows");
  });
});
