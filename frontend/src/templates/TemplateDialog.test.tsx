/**
 * Templates are created and edited with their panel's form, not JSON: an extraction template with
 * the Extract dialog's fields, a steering preset with the steering form, a labelling prompt field
 * by field; Edit changes a template in place (PATCH, same id) and a refusal is one line.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Template } from "../api/types";
import { page, renderWithClient, stubApi, type Call } from "../test/api";
import { TemplateCard } from "./TemplateCard";
import { TemplateDialog } from "./TemplateDialog";

function template(kind: string, config: Record<string, unknown>): Template {
  return { id: 4, kind, name: "quick", description: "old", favourite: false, usage_count: 2, config, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" } as unknown as Template;
}

const sent = (calls: Call[], method: string) => calls.find((c) => c.method === method && c.url.includes("/templates"))?.body as Record<string, unknown> | undefined;

describe("template form", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("creates an extraction template with the Extract dialog's fields", async () => {
    const calls = stubApi(({ method }) => (method === "POST" ? template("extraction", {}) : page([])));
    const onClose = vi.fn();
    renderWithClient(<TemplateDialog onClose={onClose} />);
    fireEvent.change(screen.getByTestId("template-kind"), { target: { value: "extraction" } });
    fireEvent.change(screen.getByTestId("template-form-name"), { target: { value: "deep" } });
    fireEvent.change(screen.getByTestId("extraction-tokens"), { target: { value: "200000" } });
    fireEvent.change(screen.getByTestId("extraction-top-k"), { target: { value: "40" } });
    // The dialog's filter fields come along with it.
    fireEvent.change(screen.getByTestId("extraction-exclude-tokens"), { target: { value: "def class" } });
    fireEvent.click(screen.getByTestId("template-form-save"));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(sent(calls, "POST")).toMatchObject({
      kind: "extraction",
      name: "deep",
      description: null,
      config: { n_tokens: 200000, top_k: 40, context_before: 16, context_after: 4, batch_size: 8, exclude_tokens: ["def", "class"] },
    });
  });

  it("creates a training template with the training form, which starts nothing here", async () => {
    const calls = stubApi(({ method, url }) => (method === "POST" && url.endsWith("/templates") ? template("training", {}) : url.includes("architectures") ? [] : page([])));
    renderWithClient(<TemplateDialog onClose={() => {}} />);
    fireEvent.change(screen.getByTestId("template-kind"), { target: { value: "training" } });
    expect(screen.getByTestId("training-form")).toBeInTheDocument();
    expect(screen.queryByTestId("train-start")).toBeNull();
    expect(screen.queryByTestId("save-template")).toBeNull();
    fireEvent.change(screen.getByTestId("train-steps"), { target: { value: "321" } });
    fireEvent.change(screen.getByTestId("template-form-name"), { target: { value: "short" } });
    fireEvent.click(screen.getByTestId("template-form-save"));
    await waitFor(() => expect(sent(calls, "POST")).toBeDefined());
    const config = sent(calls, "POST")!.config as { form: { steps: number }; request: unknown };
    expect(config.form.steps).toBe(321);
    expect(config.request).toBeDefined();
    expect(calls.some((c) => c.method === "POST" && c.url.includes("/trainings"))).toBe(false);
  });

  it("creates a steering preset with the steering form (a prompt template among its fields)", async () => {
    const calls = stubApi(({ method }) => (method === "POST" ? template("steering", {}) : page([])));
    renderWithClient(<TemplateDialog onClose={() => {}} />);
    fireEvent.change(screen.getByTestId("template-kind"), { target: { value: "steering" } });
    fireEvent.change(screen.getByTestId("template-form-name"), { target: { value: "topics" } });
    expect(screen.queryByTestId("steering-run")).toBeNull(); // the form starts nothing here
    expect(screen.queryByTestId("steering-presets")).toBeNull();
    fireEvent.click(screen.getByTestId("steering-mode-template"));
    fireEvent.change(screen.getByTestId("steering-values-topic"), { target: { value: "cats\ntides" } });
    fireEvent.change(screen.getByTestId("steering-sweep"), { target: { value: "0, 4" } });
    fireEvent.click(screen.getByTestId("template-form-save"));
    await waitFor(() => expect(sent(calls, "POST")).toBeDefined());
    const body = sent(calls, "POST")!;
    expect(body.kind).toBe("steering");
    expect((body.config as { request: unknown }).request).toMatchObject({
      prompts: [],
      prompt_template: { text: "Write about {topic}.", variables: { topic: ["cats", "tides"] } },
      strengths: [0, 4],
    });
  });

  it("edits a labelling prompt field by field, in place", async () => {
    const calls = stubApi(({ method }) => (method === "PATCH" ? template("labeling_prompt", {}) : page([])));
    const t = template("labeling_prompt", { name: "mine", user: "Examples: {examples}", n_examples: 5 });
    renderWithClient(<TemplateCard template={t} />);
    fireEvent.click(screen.getByTestId("template-edit"));
    expect((screen.getByTestId("template-kind") as HTMLSelectElement).disabled).toBe(true);
    const user = screen.getByTestId("labeling-prompt-user") as HTMLTextAreaElement;
    expect(user.value).toBe("Examples: {examples}");
    fireEvent.change(user, { target: { value: "Look: {examples} {top_tokens}" } });
    fireEvent.change(screen.getByTestId("labeling-prompt-worked_user"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("template-form-name"), { target: { value: "quick 2" } });
    fireEvent.click(screen.getByTestId("template-form-save"));
    await waitFor(() => expect(sent(calls, "PATCH")).toBeDefined());
    expect(calls.find((c) => c.method === "PATCH")!.url).toMatch(/\/templates\/4$/);
    const body = sent(calls, "PATCH") as { name: string; description: string; config: Record<string, unknown> };
    expect(body.name).toBe("quick 2");
    expect(body.description).toBe("old");
    expect(body.config).toMatchObject({ name: "mine", user: "Look: {examples} {top_tokens}", n_examples: 5, worked_user: null });
    expect(typeof body.config.system).toBe("string"); // the server's default, filled in
  });

  it("goes through JSON and back, and shows the server's refusal in one line", async () => {
    stubApi(({ method }) => (method === "PATCH" ? new Response(JSON.stringify({ detail: "a extraction template named 'x' exists" }), { status: 409 }) : page([])));
    renderWithClient(<TemplateDialog template={template("extraction", { n_tokens: 5000, exclude_tokens: ["the"] })} onClose={() => {}} />);
    expect((screen.getByTestId("extraction-tokens") as HTMLInputElement).value).toBe("5000");
    fireEvent.click(screen.getByTestId("template-json-toggle"));
    const json = screen.getByTestId("template-json") as HTMLTextAreaElement;
    // A key the form does not show is kept.
    expect(JSON.parse(json.value)).toMatchObject({ n_tokens: 5000, top_k: 20, exclude_tokens: ["the"] });
    fireEvent.change(json, { target: { value: "{ not json" } });
    fireEvent.click(screen.getByTestId("template-json-toggle"));
    expect(screen.getByRole("alert")).toHaveTextContent("the config is not valid JSON");
    fireEvent.change(json, { target: { value: '{"n_tokens": 7000}' } });
    fireEvent.click(screen.getByTestId("template-json-toggle"));
    expect((screen.getByTestId("extraction-tokens") as HTMLInputElement).value).toBe("7000");
    fireEvent.click(screen.getByTestId("template-form-save"));
    expect(await screen.findByText("a extraction template named 'x' exists")).toBeInTheDocument();
  });
});
