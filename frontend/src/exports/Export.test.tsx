import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Extraction } from "../api/types";
import { page, renderWithClient, stubApi } from "../test/api";
import { ExportDialog } from "./ExportDialog";
import { ExportList } from "./ExportList";

const EXTRACTION = { id: 7, name: "topk · layer 6", status: "ready", n_features: 4608 } as unknown as Extraction;

const READY = {
  id: 3,
  name: "topk · layer 6 · 6-mistudio-res-4k",
  status: "ready",
  extraction_id: 7,
  job_id: "j1",
  error: null,
  path: "/x",
  lineage: {},
  created_at: "2026-12-07T05:00:00Z",
  config: {},
  result: {
    latents: 4608, activations: 92160, explanations: 512, batches: 5, model_id: "smollm2-135m",
    source_id: "6-mistudio-res-4k", archive_bytes: 31_457_280, bulk_bytes: 20_971_520, seconds: 42,
  },
  upload: {
    url: "http://127.0.0.1:9/np", status: "failed", job_id: "j2",
    error: "batch 3 of 5 rejected by Neuronpedia: index 300 has no activations; batches 1-2 stay accepted",
    report: { clipped: { tokens: 2 } },
  },
};

describe("Neuronpedia export", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("posts the chosen latents, includes and ids, leaving empty ids to the server", async () => {
    const calls = stubApi(({ method }) => (method === "POST" ? { ...READY, status: "pending" } : page([])));
    const onClose = vi.fn();
    renderWithClient(<ExportDialog extraction={EXTRACTION} onClose={onClose} />);
    expect(screen.getByText("4,608 in this SAE")).toBeTruthy();
    fireEvent.change(screen.getByTestId("export-latents"), { target: { value: "list" } });
    fireEvent.change(screen.getByTestId("export-latent-list"), { target: { value: "0-99,512" } });
    fireEvent.change(screen.getByTestId("export-examples"), { target: { value: "5" } });
    fireEvent.click(screen.getByTestId("export-include_saelens"));
    fireEvent.click(screen.getByTestId("export-submit"));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url).toContain("/exports");
    const body = post.body as { extraction_id: number; config: Record<string, unknown> };
    expect(body.extraction_id).toBe(7);
    expect(body.config).toMatchObject({
      latents: "0-99,512", examples: 5, include_saelens: false, include_explanations: true,
      model_id: "smollm2-135m", source_set: null, layer: null,
    });
    expect(body.config).not.toHaveProperty("creator_id");
  });

  it("shows the server's one-line refusal and stays open", async () => {
    stubApi(({ method }) =>
      method === "POST"
        ? new Response(JSON.stringify({ detail: "latent 9000 is out of range: this SAE has 4,608 latents (0-4607)" }), { status: 422 })
        : page([]),
    );
    const onClose = vi.fn();
    renderWithClient(<ExportDialog extraction={EXTRACTION} onClose={onClose} />);
    fireEvent.change(screen.getByTestId("export-latents"), { target: { value: "list" } });
    fireEvent.change(screen.getByTestId("export-latent-list"), { target: { value: "9000" } });
    fireEvent.click(screen.getByTestId("export-submit"));
    expect(await screen.findByRole("alert")).toHaveTextContent("latent 9000 is out of range");
    expect(onClose).not.toHaveBeenCalled();
  });

  it("lists an export with both downloads, what it holds and the last upload's error", async () => {
    stubApi(({ url }) => (url.includes("/exports?") ? page([READY]) : page([])));
    renderWithClient(<ExportList extractionId={7} />);
    const summary = await screen.findByTestId("export-summary");
    expect(summary).toHaveTextContent("smollm2-135m/6-mistudio-res-4k · 4,608 latents · 92.2k examples · 512 explanations");
    expect(summary).toHaveTextContent("archive 30.0 MiB");
    expect(screen.getByTestId("export-download-archive").getAttribute("href")).toBe("/api/v1/exports/3/download?form=archive");
    expect(screen.getByTestId("export-download-neuronpedia").getAttribute("href")).toBe("/api/v1/exports/3/download?form=neuronpedia");
    expect(screen.getByTestId("export-upload-status")).toHaveTextContent("batch 3 of 5 rejected");
    expect(screen.getByTestId("export-upload-status")).toHaveTextContent("clipped: 2 tokens");
  });

  it("uploads with the key given once, never echoing it", async () => {
    const calls = stubApi(({ method, url }) => (method === "POST" ? READY : url.includes("/exports?") ? page([READY]) : page([])));
    renderWithClient(<ExportList extractionId={7} />);
    fireEvent.click(await screen.findByTestId("export-upload-open"));
    fireEvent.change(screen.getByTestId("export-upload-url"), { target: { value: " http://np.local " } });
    fireEvent.change(screen.getByTestId("export-upload-key"), { target: { value: "sk-123" } });
    fireEvent.click(screen.getByTestId("export-upload-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url).toContain("/exports/3/upload");
    expect(post.body).toEqual({ url: "http://np.local", api_key: "sk-123" });
    await waitFor(() => expect(screen.queryByTestId("export-upload-form")).toBeNull());
  });
});
