import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { AddSaeCard, splitPatterns } from "./AddSaeCard";
import { HubBrowseList, formatL0 } from "./HubBrowseList";

const MODEL = { id: 4, name: "tiny-llama", status: "ready" };
const LISTING = {
  repo_id: "org/saes",
  sha: "0123456789abcdef0123456789abcdef01234567",
  gated: false,
  private: false,
  n_files: 9,
  total: 2,
  release: null,
  config_error: null,
  entries: [
    {
      path: "layer_12/width_16k/average_l0_82", format: "gemma_scope", size_bytes: 302_000_000, n_files: 1,
      hook_name: "blocks.12.hook_resid_post", layer: 12, d_in: null, d_sae: 16384, l0: 82, k: null,
      architecture: null, model_name: null, release_sae: "gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical",
      neuronpedia: null, config_read: false,
    },
    {
      path: "resid_post/layer_3_width_65k_l0_small", format: "gemma_scope_2", size_bytes: 1536, n_files: 2,
      hook_name: null, layer: 3, d_in: 640, d_sae: 65536, l0: "small", k: null, architecture: "jump_relu",
      model_name: null, release_sae: null, neuronpedia: null, config_read: true,
    },
  ],
};

function hub(handler?: (url: string, body: unknown) => unknown) {
  return stubApi(({ method, url, body }) => {
    const custom = handler?.(url, body);
    if (custom !== undefined) return custom;
    if (url.includes("/models?")) return page([MODEL]);
    if (method === "POST" && url.endsWith("/saes/hub/browse")) return LISTING;
    if (method === "POST" && url.endsWith("/saes")) return { id: 9, status: "pending" };
    return page([]);
  });
}

describe("Add SAE", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("splits file patterns on commas and lines", () => {
    expect(splitPatterns(" a/*, b/*\nc/* ,")).toEqual(["a/*", "b/*", "c/*"]);
    expect(splitPatterns("  ")).toBeNull();
    expect(formatL0("small")).toBe("small");
    expect(formatL0(82)).toBe("82");
    expect(formatL0(null)).toBe("–");
  });

  it("posts the source with its token, revision, file patterns and model, then forgets the token", async () => {
    const calls = hub();
    renderWithClient(<AddSaeCard />);
    await waitFor(() => expect(screen.getByTestId("sae-model").querySelectorAll("option")).toHaveLength(2));
    fireEvent.change(screen.getByTestId("sae-source"), { target: { value: " google/gemma-scope-2b-pt-res " } });
    fireEvent.change(screen.getByTestId("sae-allow"), { target: { value: "layer_12/width_16k/average_l0_82/*" } });
    fireEvent.change(screen.getByTestId("sae-revision"), { target: { value: "v1" } });
    fireEvent.change(screen.getByTestId("sae-token"), { target: { value: "hf_secret" } });
    fireEvent.change(screen.getByTestId("sae-model"), { target: { value: "4" } });
    fireEvent.click(screen.getByTestId("sae-add-submit"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url === "/api/v1/saes")).toBe(true));
    const post = calls.find((c) => c.method === "POST" && c.url === "/api/v1/saes")!;
    expect(post.body).toEqual({
      source: "google/gemma-scope-2b-pt-res",
      allow_patterns: ["layer_12/width_16k/average_l0_82/*"],
      revision: "v1",
      token: "hf_secret",
      model_id: 4,
      name: null,
    });
    await waitFor(() => expect(screen.getByTestId("sae-token")).toHaveValue(""));
    expect(screen.getByTestId("sae-source")).toHaveValue("");
  });

  it("browses a repo and adds one of its SAEs by release name or folder", async () => {
    const calls = hub();
    renderWithClient(<AddSaeCard />);
    fireEvent.change(screen.getByTestId("sae-source"), { target: { value: "org/saes" } });
    fireEvent.click(screen.getByTestId("sae-browse"));
    const rows = await waitFor(() => screen.getAllByTestId("hub-sae"));
    expect(calls.find((c) => c.url.endsWith("/saes/hub/browse"))!.body).toEqual({ source: "org/saes", revision: null, token: null });
    expect(rows).toHaveLength(2);
    fireEvent.click(within(rows[0]).getByTestId("hub-sae-add"));
    fireEvent.click(within(rows[1]).getByTestId("hub-sae-add"));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST" && c.url === "/api/v1/saes")).toHaveLength(2));
    const sources = calls.filter((c) => c.url === "/api/v1/saes").map((c) => (c.body as { source: string }).source);
    expect(sources).toEqual([
      "gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical",
      "org/saes/resid_post/layer_3_width_65k_l0_small",
    ]);
  });

  it("shows a refusal from the server as one line", async () => {
    hub((url) => (url === "/api/v1/saes" ? new Response(JSON.stringify({ detail: "org/x is gated: pass a token" }), { status: 422 }) : undefined));
    renderWithClient(<AddSaeCard />);
    fireEvent.change(screen.getByTestId("sae-source"), { target: { value: "org/x" } });
    fireEvent.click(screen.getByTestId("sae-add-submit"));
    expect(await screen.findByRole("alert")).toHaveTextContent("org/x is gated: pass a token");
  });

  it("searches the Hub and the release registry, and a pick browses it", async () => {
    const calls = hub((url) =>
      url.includes("/saes/hub/search")
        ? {
            repos: [{ repo_id: "jbloom/GPT2-Small-SAEs-Reformatted", downloads: 12345, likes: 0, gated: false, tags: ["saelens"], last_modified: null }],
            releases: [{ name: "gpt2-small-res-jb", repo_id: "jbloom/GPT2-Small-SAEs-Reformatted", model: "gpt2-small", conversion_func: null, n_saes: 13 }],
            registry: "registry shipped with miStudio (from sae-lens 6.54.12)",
            hub_error: null,
          }
        : undefined,
    );
    renderWithClient(<AddSaeCard />);
    fireEvent.click(screen.getByTestId("hub-search-open"));
    fireEvent.change(screen.getByTestId("hub-search-input"), { target: { value: "gpt2" } });
    await waitFor(() => expect(calls.some((c) => c.url.includes("/saes/hub/search?q=gpt2"))).toBe(true));
    await waitFor(() => expect(screen.queryByText("Searching…")).toBeNull());
    const releases = screen.getByTestId("hub-search-releases");
    expect(screen.getByTestId("hub-search-repos")).toHaveTextContent("12.3k downloads");
    expect(releases).toHaveTextContent("13 SAEs · gpt2-small");
    fireEvent.click(within(releases).getByText("gpt2-small-res-jb"));
    await waitFor(() => expect(calls.find((c) => c.url.endsWith("/saes/hub/browse"))?.body).toMatchObject({ source: "gpt2-small-res-jb" }));
    expect(screen.getByTestId("sae-source")).toHaveValue("gpt2-small-res-jb");
  });

  it("lists a repo with sizes, widths and L0s, and says when it holds no SAE", () => {
    const onAdd = vi.fn();
    const { rerender } = renderWithClient(<HubBrowseList listing={LISTING} onAdd={onAdd} adding={false} />);
    const [gemma, scope2] = screen.getAllByTestId("hub-sae");
    expect(gemma).toHaveTextContent("layer_12/width_16k/average_l0_82");
    expect(gemma).toHaveTextContent("16.4k");
    expect(gemma).toHaveTextContent("288.0 MiB");
    expect(scope2).toHaveTextContent("small");
    expect(screen.getByTestId("hub-browse")).toHaveTextContent("org/saes at 0123456 · 2 SAEs");
    rerender(<HubBrowseList listing={{ ...LISTING, total: 0, entries: [] }} onAdd={onAdd} adding={false} />);
    expect(screen.getByTestId("hub-browse-empty")).toHaveTextContent("No SAE folder");
  });
});
