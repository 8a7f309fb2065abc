/**
 * The extraction controls of issue 18 point 10: the dialog sends the activation threshold and the
 * token filters, and "then label with" as the request's `labeling` (the key read once, then the
 * field cleared); a template fills the filters; a running extraction counts the latents found from
 * its job's live events; the card follows its planned labelling run.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Extraction } from "../api/types";
import { page, renderWithClient, stubApi, type Call } from "../test/api";
import { MODEL, TOKENIZATIONS } from "../test/inputs";
import { setEventSocket } from "../ws/live";
import { EventSocket } from "../ws/socket";
import { ExtractionCard } from "./ExtractionCard";
import { ExtractionDialog } from "./ExtractionDialog";
import { FakeWs } from "../test/socket";
import { EXTRACTION_DEFAULTS, extractionConfig, withTemplate } from "./ExtractionFields";

const SAE = { id: 5, name: "run/blocks.6", status: "ready", model_id: 1, hook_name: "blocks.6.hook_resid_post", d_sae: 4096, lineage: { tokenization_id: 2, model_id: 1 } };

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

function dialogApi(): Call[] {
  return stubApi(({ method, url }) => {
    if (method === "POST") return { id: 7 };
    if (url.includes("/saes")) return page([SAE]);
    if (url.includes("/models")) return page([MODEL]);
    if (url.includes("/tokenizations")) return page(TOKENIZATIONS);
    return page([]);
  });
}

const JOB = {
  id: "j1", kind: "extract", queue: "gpu", status: "running", progress: 0.3, eta_seconds: 20, message: "extracting",
  config: {}, result: {}, error: null, resumable: false, cancel_requested: false, attempts: 1, heartbeat_at: null, worker: null,
  artifact_kind: "extractions", artifact_id: 9, resources: [], last_seq: 2, created_at: "", started_at: null, finished_at: null,
};

const extraction = (over: Partial<Extraction>) =>
  ({ id: 9, name: "run/blocks.6@notes", status: "pending", sae_id: 5, job_id: "j1", error: null, result: {}, config: {}, ...over }) as Extraction;

describe("extraction controls", () => {
  it("sends the threshold, the filters and the labelling method chosen", async () => {
    const calls = dialogApi();
    renderWithClient(<ExtractionDialog saeId={5} onClose={() => {}} />);
    await waitFor(() => expect((screen.getByTestId("extraction-tokenization") as HTMLSelectElement).value).toBe("2"));
    fireEvent.change(screen.getByTestId("extraction-tokens"), { target: { value: "20000" } });
    fireEvent.change(screen.getByTestId("extraction-threshold"), { target: { value: "0.5" } });
    fireEvent.change(screen.getByTestId("extraction-exclude-tokens"), { target: { value: " ,  .  the " } });
    fireEvent.click(screen.getByTestId("extraction-skip-stop-words"));
    fireEvent.click(screen.getByTestId("extraction-skip-special"));
    expect(screen.queryByTestId("extraction-label-model")).toBeNull();
    fireEvent.change(screen.getByTestId("extraction-label-method"), { target: { value: "openai" } });
    fireEvent.change(screen.getByTestId("extraction-label-model"), { target: { value: "gpt-test" } });
    const key = screen.getByTestId("extraction-label-api-key") as HTMLInputElement;
    fireEvent.change(key, { target: { value: "sk-xyz" } });
    fireEvent.click(screen.getByTestId("extraction-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const body = calls.find((c) => c.method === "POST")!.body as Record<string, unknown>;
    expect(body.config).toMatchObject({
      n_tokens: 20000,
      activation_threshold: 0.5,
      exclude_tokens: [",", ".", "the"],
      exclude_stop_words: true,
      exclude_special_tokens: false,
    });
    expect(body.labeling).toEqual({ config: { method: "openai", score: false, model: "gpt-test", api_key: "sk-xyz" } });
    expect(key.value).toBe(""); // read once, then cleared
  });

  it("extracts only when no labelling method is chosen", async () => {
    const calls = dialogApi();
    renderWithClient(<ExtractionDialog saeId={5} onClose={() => {}} />);
    await waitFor(() => expect((screen.getByTestId("extraction-tokenization") as HTMLSelectElement).value).toBe("2"));
    fireEvent.change(screen.getByTestId("extraction-tokens"), { target: { value: "20000" } });
    fireEvent.change(screen.getByTestId("extraction-label-method"), { target: { value: "rules" } });
    fireEvent.change(screen.getByTestId("extraction-label-method"), { target: { value: "none" } });
    fireEvent.click(screen.getByTestId("extraction-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).not.toHaveProperty("labeling");
  });

  it("fills the filters from a template and back", () => {
    const values = withTemplate(EXTRACTION_DEFAULTS, { activation_threshold: 0.25, exclude_stop_words: true, exclude_tokens: ["a", ","], top_k: 7 });
    expect(values).toMatchObject({ activation_threshold: "0.25", exclude_stop_words: true, exclude_special_tokens: true, exclude_tokens: "a ,", top_k: "7" });
    expect(extractionConfig(values)).toMatchObject({ activation_threshold: 0.25, exclude_tokens: ["a", ","], exclude_stop_words: true });
  });

  it("counts the features found while it runs and shows the planned labelling", async () => {
    stubApi(({ url }) => (url.includes("/jobs/j1") ? JOB : url.includes("/saes") ? page([SAE]) : undefined));
    renderWithClient(<ExtractionCard extraction={extraction({ result: { labeling: { method: "rules", run_id: null } } })} />);
    await waitFor(() => expect(ws.sent.some((s) => s.includes("jobs/j1"))).toBe(true));
    expect(screen.queryByTestId("features-found")).toBeNull();
    expect(screen.getByTestId("follow-up-labeling")).toHaveTextContent("Then rules labelling: starts when the extraction is ready");
    ws.deliver({ channel: "jobs/j1", job_id: "j1", seq: 3, type: "progress", data: { progress: 0.4, metrics: { sequences: 10, features_found: 1234 } } });
    await waitFor(() => expect(screen.getByTestId("features-found")).toHaveTextContent("1,234 of 4,096 features found (30%)"));
    ws.deliver({ channel: "jobs/j1", job_id: "j1", seq: 4, type: "progress", data: { progress: 0.5, metrics: { sequences: 20, features_found: 2048 } } });
    expect(screen.getByTestId("features-found")).toHaveTextContent("2,048 of 4,096 features found (50%)");
  });

  it("follows the labelling run once the extraction queued it", async () => {
    stubApi(({ url }) => (url.includes("/labeling/3") ? { id: 3, name: "rules labels", status: "ready", job_id: "l3", n_labeled: 812, error: null, extraction_id: 9, config: {}, result: {} } : page([])));
    renderWithClient(<ExtractionCard extraction={extraction({ status: "ready", job_id: null, result: { labeling: { method: "rules", run_id: 3 } } })} />);
    const line = await screen.findByText("812 labelled");
    expect(line.closest("[data-testid=follow-up-labeling]")).toHaveAttribute("data-state", "ready");
  });

  it("counts a finished run's labels as the Labeling panel does: unclear verdicts apart", async () => {
    const summary = { requested: 512, labelled: 388, unclear: 120, failed: 0, scored: 0 };
    stubApi(({ url }) => (url.includes("/labeling/3") ? { id: 3, name: "rules labels", status: "ready", job_id: "l3", n_labeled: 508, error: null, extraction_id: 9, config: {}, result: summary } : page([])));
    renderWithClient(<ExtractionCard extraction={extraction({ status: "ready", job_id: null, result: { labeling: { method: "rules", run_id: 3 } } })} />);
    expect(await screen.findByTestId("follow-up-count")).toHaveTextContent("388 labelled · 120 unclear");
  });
});
