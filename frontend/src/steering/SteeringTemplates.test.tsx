/**
 * Steering prompt templates and presets in the form: the template's variables get one values box
 * each and the run's request carries `prompt_template`; a template the server would refuse is
 * said before Run; the results show the values a prompt filled in; a preset saves the form and
 * loads back into it (features, modes, strengths, prompts, sweep).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { SteeringResult } from "../api/types";
import { page, renderWithClient, stubApi } from "../test/api";
import { CompareView } from "./CompareView";
import { DEFAULT_STEERING_FORM, formFromPreset, presetConfig, steeringRequest } from "./formState";
import { promptCount, templateProblem, templateRequest, templateVariables } from "./promptTemplate";
import { SteeringForm } from "./SteeringForm";

const EXTRACTION = { id: 7, name: "ext", status: "ready", sae_id: 3 };
const FEATURE = { id: 70, index: 5, label: "def keyword", max_activation: 2, top_tokens: null };
const PICKED = { sae_id: 3, extraction_id: 7, index: 5, label: "def keyword", max_activation: 2, mode: "clamp" as const, strength: 3, relative: true };

describe("prompt template reading", () => {
  it("finds the variables in order, once, with {{ }} literal", () => {
    expect(templateVariables("A {style} poem on {topic} in {style} {{not}}")).toEqual({ names: ["style", "topic"], error: null });
    expect(templateVariables("about {topic").error).toContain("write {{");
    expect(templateVariables("about topic}").error).toContain("write }}");
    expect(templateVariables("about {0}").error).toBe("{0} is not a variable; name one like {topic}");
  });

  it("counts a product or a zip, and names what keeps it from running", () => {
    const draft = { text: "{a} {b}", values: { a: "x\ny\n\n", b: "1\n2\n3" }, combine: "product" as const };
    expect(promptCount(draft)).toBe(6);
    expect(templateProblem(draft)).toBeNull();
    expect(templateProblem({ ...draft, combine: "zip" })).toBe("zip pairs values: a has 2, b has 3");
    expect(templateProblem({ ...draft, values: { a: "x" } })).toBe("{b} has no values");
    expect(templateProblem({ ...draft, values: { a: "x\n".repeat(8), b: "y\n".repeat(9) } })).toBe("the template makes 72 prompts; a run takes at most 64");
    expect(templateProblem({ ...draft, text: "no variables" })).toContain("has no {variable}");
    // Only the variables the text uses are sent (old values of a renamed variable are not).
    expect(templateRequest({ text: "{a}", values: { a: "x\ny", old: "z" }, combine: "product" })).toEqual({ text: "{a}", variables: { a: ["x", "y"] }, combine: "product" });
  });
});

describe("steering form with a prompt template", () => {
  afterEach(() => vi.unstubAllGlobals());

  function api() {
    return stubApi(({ method, url }) => {
      if (method === "POST" && url.endsWith("/steering")) return { id: 11, status: "pending" };
      if (method === "POST" && url.endsWith("/templates")) return { id: 21, kind: "steering", name: "def clamp", config: {}, favourite: false };
      if (url.includes("/extractions")) return page([EXTRACTION]);
      if (url.includes("/features")) return page([FEATURE]);
      return page([]);
    });
  }

  it("sends one prompt_template with the values typed per variable", async () => {
    const calls = api();
    const started = vi.fn();
    renderWithClient(<SteeringForm onStarted={started} initial={{ ...DEFAULT_STEERING_FORM, picked: [PICKED] }} />);
    fireEvent.click(screen.getByTestId("steering-mode-template"));
    fireEvent.change(screen.getByTestId("steering-template-text"), { target: { value: "Write about {topic}." } });
    fireEvent.change(screen.getByTestId("steering-values-topic"), { target: { value: "cats\nthe sea\n" } });
    expect(screen.getByTestId("steering-template-count")).toHaveTextContent("2 prompts, one generation each");
    fireEvent.click(screen.getByTestId("steering-run"));
    await waitFor(() => expect(started).toHaveBeenCalledWith(11));
    const body = calls.find((c) => c.method === "POST" && c.url.endsWith("/steering"))!.body as Record<string, unknown>;
    expect(body.prompts).toEqual([]);
    expect(body.prompt_template).toEqual({ text: "Write about {topic}.", variables: { topic: ["cats", "the sea"] }, combine: "product" });
    expect(body.features).toEqual([{ sae_id: 3, extraction_id: 7, index: 5, mode: "clamp", strength: 3, relative: true }]);
  });

  it("says what is wrong with the template before Run and sends nothing", async () => {
    const calls = api();
    renderWithClient(<SteeringForm initial={{ ...DEFAULT_STEERING_FORM, picked: [PICKED] }} />);
    fireEvent.click(screen.getByTestId("steering-mode-template"));
    fireEvent.change(screen.getByTestId("steering-template-text"), { target: { value: "About {topic} in {style}" } });
    fireEvent.change(screen.getByTestId("steering-values-topic"), { target: { value: "cats" } });
    expect(screen.getByTestId("steering-template-problem")).toHaveTextContent("{style} has no values");
    fireEvent.click(screen.getByTestId("steering-run"));
    expect(await screen.findByText("prompt template: {style} has no values")).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });

  it("saves the form as a preset and loads a preset back", async () => {
    const saved = presetConfig({ ...DEFAULT_STEERING_FORM, extractionId: 7, picked: [PICKED], prompts: ["def", "class"], sweep: "0, 2" });
    const calls = stubApi(({ method, url }) => {
      if (method === "POST" && url.endsWith("/templates")) return { id: 21, kind: "steering", name: "def clamp", config: {}, favourite: false };
      if (url.includes("/templates")) return page([{ id: 20, kind: "steering", name: "two prompts", description: null, favourite: false, usage_count: 0, config: saved }]);
      if (url.includes("/extractions")) return page([EXTRACTION]);
      return page([]);
    });
    renderWithClient(<SteeringForm />);
    const presets = screen.getByTestId("steering-presets");
    await waitFor(() => expect(within(presets).getAllByRole("option")).toHaveLength(2));
    fireEvent.change(screen.getByTestId("steering-preset"), { target: { value: "20" } });
    expect(await screen.findByText("def keyword")).toBeInTheDocument();
    expect((screen.getByLabelText("mode") as HTMLSelectElement).value).toBe("clamp");
    expect((screen.getByLabelText("strength value") as HTMLInputElement).value).toBe("3");
    expect(screen.getAllByTestId("steering-prompt").map((t) => (t as HTMLTextAreaElement).value)).toEqual(["def", "class"]);
    expect((screen.getByTestId("steering-sweep") as HTMLInputElement).value).toBe("0, 2");
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/templates/20/use"))).toBe(true));

    fireEvent.change(screen.getByTestId("steering-preset-name"), { target: { value: "def clamp" } });
    fireEvent.click(screen.getByTestId("steering-preset-save"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/templates"))).toBe(true));
    const body = calls.find((c) => c.method === "POST" && c.url.endsWith("/templates"))!.body as { kind: string; name: string; config: Record<string, unknown> };
    expect(body.kind).toBe("steering");
    expect(body.name).toBe("def clamp");
    expect(body.config.request).toMatchObject({ features: [{ index: 5, mode: "clamp", strength: 3 }], prompts: ["def", "class"], strengths: [0, 2] });
    expect(await screen.findByTestId("steering-preset-message")).toHaveTextContent("saved preset def clamp");
  });
});

describe("presets written elsewhere", () => {
  it("loads a preset that holds only a request (a script's) into the form", () => {
    const form = formFromPreset({
      request: {
        features: [{ sae_id: 3, index: 9, mode: "suppress", extraction_id: null }],
        prompt_template: { text: "On {x}", variables: { x: ["a", "b"] }, combine: "zip" },
        generation: { max_new_tokens: 12 },
        strengths: [1, 4],
      },
    });
    expect(form.picked).toEqual([{ sae_id: 3, extraction_id: null, index: 9, label: null, max_activation: null, mode: "suppress", strength: 0, relative: false }]);
    expect(form.promptMode).toBe("template");
    expect(form.template).toEqual({ text: "On {x}", values: { x: "a\nb" }, combine: "zip" });
    expect(form.gen.max_new_tokens).toBe("12");
    expect(form.sweep).toBe("1, 4");
    expect(steeringRequest(form).prompt_template).toEqual({ text: "On {x}", variables: { x: ["a", "b"] }, combine: "zip" });
  });
});

describe("results of a template run", () => {
  it("show the values each prompt filled in, as text", () => {
    const result: SteeringResult = {
      prompts: ["cats", "<b>sea</b>"].map((topic) => ({
        prompt: `Write about ${topic}.`,
        variables: { topic },
        baseline: { text: "base" },
        steered: [{ strength: null, text: "steered", finite: true }],
      })),
    };
    const { container } = render(<CompareView result={result} />);
    const chips = screen.getAllByTestId("steering-prompt-variables");
    expect(chips.map((c) => c.textContent)).toEqual(["topic = cats", "topic = <b>sea</b>"]);
    expect(container.querySelector("b")).toBeNull();
  });
});
