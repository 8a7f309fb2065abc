/**
 * The empty studio's first-run offer (issue 22): shown only when the studio is empty, one click
 * posts the first run, the card then lists the stages (finished ones with their seconds, the
 * current one from the live message) and a completed run opens the Features panel on the
 * labelled extraction.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithClient, stubApi } from "../test/api";
import { FakeWs } from "../test/socket";
import { setEventSocket } from "../ws/live";
import { EventSocket } from "../ws/socket";
import { useUi } from "../store/ui";
import { FirstRun, STAGES, stageTitles } from "./FirstRun";

let ws: FakeWs;
beforeEach(() => {
  ws = new FakeWs();
  const socket = new EventSocket("ws://studio/ws", { createSocket: () => ws, pingMs: 1e9 });
  socket.start();
  ws.onopen?.({});
  setEventSocket(socket);
  useUi.setState({ panel: "datasets", extractionId: null });
});
afterEach(() => {
  vi.unstubAllGlobals();
  setEventSocket(null);
});

const job = (over: Record<string, unknown>) => ({
  id: "fr1", kind: "first_run", queue: "gpu", status: "running", progress: 0.5, eta_seconds: 95, message: "train",
  config: {}, error: null, resumable: false, cancel_requested: false, attempts: 1, heartbeat_at: null, worker: null,
  artifact_kind: null, artifact_id: null, resources: [], last_seq: 3, created_at: "", started_at: null, finished_at: null,
  result: { stages: [{ name: "model", seconds: 41.2 }, { name: "dataset", seconds: 9.8 }, { name: "tokenize", seconds: 3.1 }], current: "train" },
  ...over,
});

describe("first run", () => {
  it("offers the run on an empty studio and posts it on one click", async () => {
    let posted = false;
    const calls = stubApi(({ method, url }) => {
      if (method === "POST" && url.endsWith("/first-run")) {
        posted = true;
        return { job_id: "fr1" };
      }
      if (url.includes("/first-run")) return posted ? { empty: true, job_id: "fr1", status: "queued", extraction_id: null } : { empty: true, job_id: null, status: null, extraction_id: null };
      if (url.includes("/jobs/fr1")) return job({});
      return undefined;
    });
    renderWithClient(<FirstRun />);
    const start = await screen.findByTestId("first-run-start");
    expect(screen.getByTestId("first-run-offer").textContent).toContain("Try it on the built-in model");
    fireEvent.click(start);
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/first-run"))).toBe(true));
    // The card now follows the job: three stages done with their seconds, training running.
    await screen.findByTestId("first-run-progress");
    await waitFor(() => expect(screen.getByTestId("first-run-stage-model").getAttribute("data-state")).toBe("done"));
    expect(screen.getByTestId("first-run-stage-model").textContent).toContain("41.2 s");
    expect(screen.getByTestId("first-run-stage-tokenize").textContent).toContain("3.1 s");
    expect(screen.getByTestId("first-run-stage-train").getAttribute("data-state")).toBe("running");
    expect(screen.getByTestId("first-run-stage-label").getAttribute("data-state")).toBe("waiting");
    expect(screen.getByTestId("eta").textContent).toContain("1m 35s");
  });

  it("offers nothing once the studio has work of its own", async () => {
    stubApi(({ url }) => (url.includes("/first-run") ? { empty: false, job_id: null, status: null, extraction_id: null } : undefined));
    renderWithClient(<FirstRun />);
    await waitFor(() => expect(vi.mocked(fetch)).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("first-run-offer")).toBeNull();
    expect(screen.queryByTestId("first-run-progress")).toBeNull();
  });

  it("takes the offer away once the studio fills through another panel", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let empty = true;
      stubApi(({ url }) => (url.includes("/first-run") ? { empty, job_id: null, status: null, extraction_id: null } : undefined));
      renderWithClient(<FirstRun />);
      await waitFor(() => expect(screen.getByTestId("first-run-offer")).toBeInTheDocument());
      empty = false; // e.g. a model loaded from the Models panel
      await vi.advanceTimersByTimeAsync(5500);
      await waitFor(() => expect(screen.queryByTestId("first-run-offer")).toBeNull());
    } finally {
      vi.useRealTimers();
    }
  });

  it("moves to the next stage on a live message and opens the features when done", async () => {
    let row = job({});
    stubApi(({ url }) => {
      if (url.includes("/first-run")) return { empty: false, job_id: "fr1", status: "running", extraction_id: null };
      if (url.includes("/jobs/fr1")) return row;
      return undefined;
    });
    renderWithClient(<FirstRun />);
    await waitFor(() => expect(screen.getByTestId("first-run-stage-train").getAttribute("data-state")).toBe("running"));
    // The worker finishes training and starts extracting: the row is refetched for the seconds.
    row = job({ message: "extract", result: { stages: [...(row.result.stages as object[]), { name: "train", seconds: 120.5 }], current: "extract" } });
    ws.deliver({ type: "progress", channel: "jobs/fr1", seq: 4, data: { progress: 0.6, message: "extract", eta_seconds: 60 } });
    await waitFor(() => expect(screen.getByTestId("first-run-stage-train").textContent).toContain("120.5 s"));
    expect(screen.getByTestId("first-run-stage-extract").getAttribute("data-state")).toBe("running");
    // Completed: the studio opens the Features panel on the labelled extraction.
    row = job({ status: "completed", progress: 1, message: "label", result: { stages: [], extraction_id: 12, labelled: 2100, d_sae: 2304 } });
    ws.deliver({ type: "status", channel: "jobs/fr1", seq: 5, data: { status: "completed" } });
    await waitFor(() => expect(useUi.getState().panel).toBe("features"));
    expect(useUi.getState().extractionId).toBe(12);
    expect(screen.getByTestId("first-run-summary").textContent).toContain("2100 of 2304 latents labelled");
  });

  it("names the model, corpus and layer a job's config gives", () => {
    const defaults = stageTitles({});
    expect([...defaults.values()]).toEqual(STAGES.map((s) => s.title));
    const other = stageTitles({ first_run: { model: "/models/gpt2-small/", corpus: "/data/my-corpus", layer: 3 } });
    expect(other.get("model")).toBe("Load gpt2-small");
    expect(other.get("dataset")).toBe("Import my-corpus");
    expect(other.get("train")).toBe("Train a top-k SAE on layer 3 (from the cache)");
    expect(other.get("activations")).toContain("layer 3");
    expect(stageTitles({ first_run: { corpus: "kjv" } }).get("dataset")).toBe("Import the KJV Bible");
  });
});
