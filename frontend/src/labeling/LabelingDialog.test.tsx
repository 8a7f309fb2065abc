import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { LabelingDialog } from "./LabelingDialog";
import { parseIndices } from "./options";

const KEY = "sk-test-very-secret-key";

function page<T>(items: T[]) {
  return { items, total: items.length, offset: 0, limit: 200 };
}

describe("labeling dialog", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the API key once and does not keep it after submit", async () => {
    const posts: { url: string; body: Record<string, unknown> }[] = [];
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200 });
      if (init?.method === "POST") {
        posts.push({ url, body: JSON.parse(String(init.body)) as Record<string, unknown> });
        return json({ id: 7, name: "run", status: "queued", extraction_id: 3, config: {}, n_labeled: 0, result: {}, path: null, job_id: null, lineage: {}, error: null, created_at: "", updated_at: "" });
      }
      if (url.includes("/extractions")) return json(page([{ id: 3, name: "ex", status: "ready", n_features: 64, sae_id: 1, result: {} }]));
      if (url.includes("/templates")) return json(page([{ id: 1, kind: "labeling_prompt", name: "delphi-default", favourite: false, config: { name: "delphi-default" } }]));
      return json(page([]));
    });
    vi.stubGlobal("fetch", fetchMock);
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const onStarted = vi.fn();
    const { container } = render(
      <QueryClientProvider client={client}>
        <LabelingDialog onClose={() => {}} onStarted={onStarted} />
      </QueryClientProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("labeling-extraction")).toHaveValue("3"));
    fireEvent.change(screen.getByTestId("labeling-method"), { target: { value: "ollama" } });
    fireEvent.change(screen.getByTestId("labeling-model"), { target: { value: "llama3.1:8b" } });
    const key = screen.getByTestId("labeling-api-key") as HTMLInputElement;
    expect(key.type).toBe("password");
    fireEvent.change(key, { target: { value: KEY } });
    fireEvent.click(screen.getByTestId("labeling-start"));

    await waitFor(() => expect(onStarted).toHaveBeenCalled());
    const start = posts.find((p) => p.url.endsWith("/labeling"));
    expect(start).toBeDefined();
    expect((start!.body.config as Record<string, unknown>).api_key).toBe(KEY);
    expect((start!.body.config as Record<string, unknown>).method).toBe("ollama");
    expect(start!.body.extraction_id).toBe(3);
    // Gone from the field, the DOM and every cache the app holds.
    expect((screen.getByTestId("labeling-api-key") as HTMLInputElement).value).toBe("");
    expect(container.innerHTML).not.toContain(KEY);
    const caches = JSON.stringify([
      client.getQueryCache().getAll().map((q) => q.state),
      client.getMutationCache().getAll().map((m) => m.state),
    ]);
    expect(caches).not.toContain(KEY);
    // A second submit does not resend it.
    fireEvent.click(screen.getByTestId("labeling-start"));
    await waitFor(() => expect(posts.filter((p) => p.url.endsWith("/labeling"))).toHaveLength(2));
    expect((posts[1].body.config as Record<string, unknown>).api_key).toBeUndefined();
  });

  it("parses index lists and ranges", () => {
    expect(parseIndices("1, 4 10-12")).toEqual([1, 4, 10, 11, 12]);
    expect(parseIndices("a")).toBeNull();
  });
});
