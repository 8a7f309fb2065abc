/**
 * Starting a labelling run over an extraction's latents (rules, a local LLM, Ollama or an
 * OpenAI-compatible backend), with an editable prompt template and a cost estimate. The API key field
 * is uncontrolled: its value is read once when the request is sent, then the field is cleared; it is
 * never kept in React state, a store or a query cache.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useTemplates } from "../api/hooks";
import type { CostEstimate, LabelingConfig, LabelingCreate, LabelingJob, LabelingSelection, Template } from "../api/types";
import { Button, ErrorLine, Field, Modal, TemplateOptions, num, IdOptions } from "../components/ui";
import { formatCount } from "../lib/format";
import { CostEstimateView } from "./CostEstimateView";
import { EMPTY_FILTER, METHODS, type Method, PAID, type SelectionFilter, type SelectionMode, parseIndices } from "./options";
import { SelectionFields } from "./SelectionFields";
import { useEstimateLabeling, useStartLabeling } from "./queries";
import { useSaveTemplate } from "../templates/queries";
import { useExtractionChoice } from "../features/queries";

export function LabelingDialog({
  onClose,
  onStarted,
  extractionId: initialExtraction = null,
}: {
  onClose: () => void;
  onStarted?: (run: LabelingJob) => void;
  extractionId?: number | null;
}) {
  const { ready, extractionId, setExtractionId } = useExtractionChoice(initialExtraction);
  const [method, setMethod] = useState<Method>("rules");
  const [model, setModel] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const keyRef = useRef<HTMLInputElement>(null);
  const [priceIn, setPriceIn] = useState("");
  const [priceOut, setPriceOut] = useState("");
  const [score, setScore] = useState(false);
  const [overwriteManual, setOverwriteManual] = useState(false);
  const [selMode, setSelMode] = useState<SelectionMode>("unlabelled");
  const [indices, setIndices] = useState("");
  const [filter, setFilter] = useState<SelectionFilter>(EMPTY_FILTER);
  const templates = useTemplates("labeling_prompt");
  const [templateId, setTemplateId] = useState<number | null>(null);
  const template: Template | undefined = templates.data?.items.find((t) => t.id === templateId);
  useEffect(() => {
    if (templateId === null && templates.data?.items.length) {
      const first = templates.data.items.find((t) => t.favourite) ?? templates.data.items[0];
      setTemplateId(first.id);
    }
  }, [templates.data, templateId]);
  const [promptText, setPromptText] = useState("");
  useEffect(() => {
    if (template) setPromptText(JSON.stringify(template.config, null, 2));
  }, [template]);
  const edited = template ? promptText !== JSON.stringify(template.config, null, 2) : promptText.trim() !== "";
  const [promptError, setPromptError] = useState<string | null>(null);
  const [saveName, setSaveName] = useState("");
  const [estimate, setEstimate] = useState<CostEstimate | null>(null);
  const needsLlm = method !== "rules";

  const parsedPrompt = (): Record<string, unknown> | undefined => {
    if (!needsLlm || !edited) return undefined;
    try {
      const value: unknown = JSON.parse(promptText);
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("the prompt must be a JSON object");
      setPromptError(null);
      return value as Record<string, unknown>;
    } catch (err) {
      setPromptError(`prompt: ${(err as Error).message}`);
      throw err;
    }
  };

  const body = (apiKey?: string): LabelingCreate => {
    const config: Partial<LabelingConfig> = { method, score };
    if (overwriteManual) config.overwrite_manual = true;
    if (needsLlm) {
      if (model.trim()) config.model = model.trim();
      if (baseUrl.trim()) config.base_url = baseUrl.trim();
      const pin = num(priceIn);
      const pout = num(priceOut);
      if (pin !== undefined) config.price_per_1k_input = pin;
      if (pout !== undefined) config.price_per_1k_output = pout;
      const prompt = parsedPrompt();
      if (prompt) config.prompt = prompt as LabelingConfig["prompt"];
    }
    if (apiKey) config.api_key = apiKey;
    let selection: LabelingSelection = { only_unlabelled: true };
    if (selMode === "indices") {
      const list = parseIndices(indices);
      if (!list || !list.length) throw new Error("enter latent indices like 1, 4, 10-20");
      selection = { indices: list, only_unlabelled: false };
    } else if (selMode === "filter") {
      selection = {
        only_unlabelled: true,
        filter: {
          min_frequency: num(filter.min_frequency) ?? 0,
          max_frequency: num(filter.max_frequency) ?? 1,
          min_max_act: num(filter.min_max_act) ?? 0,
          limit: num(filter.limit) ?? null,
        },
      };
    }
    if (extractionId === null) throw new Error("pick an extraction");
    return {
      extraction_id: extractionId,
      config: config as LabelingConfig,
      selection,
      template_id: needsLlm && !edited && templateId !== null ? templateId : null,
    };
  };

  const estimateRun = useEstimateLabeling((out) => setEstimate(out));
  const start = useStartLabeling((run) => onStarted?.(run));
  // Read the key once, clear the field, and send it only in this request.
  const startRun = () =>
    start.mutate(() => {
      const key = keyRef.current?.value ?? "";
      if (keyRef.current) keyRef.current.value = "";
      return body(key || undefined);
    });
  const saveTemplate = useSaveTemplate((t) => {
    setTemplateId(t.id);
    setSaveName("");
  });
  const savePrompt = () =>
    saveTemplate.mutate(() => {
      const config = JSON.parse(promptText) as Record<string, unknown>;
      return { kind: "labeling_prompt", name: saveName.trim(), config };
    });
  // A paid run is estimated before it can start.
  const paid = PAID.has(method);
  const canStart = extractionId !== null && (!paid || estimate !== null) && !start.isPending;
  const stale = useMemo(() => ({ method, model, extractionId, selMode, indices, filter, priceIn, priceOut, score }), [method, model, extractionId, selMode, indices, filter, priceIn, priceOut, score]);
  useEffect(() => setEstimate(null), [stale]);

  return (
    <Modal
      title="New labelling run"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          {needsLlm && (
            <Button onClick={() => estimateRun.mutate(() => body())} disabled={estimateRun.isPending || extractionId === null} data-testid="labeling-estimate">
              Estimate cost
            </Button>
          )}
          <Button variant="primary" onClick={() => startRun()} disabled={!canStart} data-testid="labeling-start">
            Start labelling
          </Button>
        </>
      }
    >
      <div className="grid gap-3 md:grid-cols-2" data-testid="labeling-dialog">
        <Field label="Extraction">
          <select value={extractionId ?? ""} onChange={(e) => setExtractionId(num(e.target.value) ?? null)} data-testid="labeling-extraction">
            {extractionId === null && <option value="">—</option>}
            <IdOptions items={ready} label={(e) => `${e.name} (${formatCount(e.n_features)} latents)`} />
          </select>
        </Field>
        <Field label="Method">
          <select value={method} onChange={(e) => setMethod(e.target.value as Method)} data-testid="labeling-method">
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
        {needsLlm && (
          <>
            <Field label="Model" hint={method === "local" ? "empty: the built-in pattern labeller (no LLM, ignores the prompt); smollm2-135m, a Hugging Face model id or folder: a chat model" : method === "ollama" ? "e.g. llama3.1:8b" : "e.g. gpt-4o-mini"}>
              <input value={model} onChange={(e) => setModel(e.target.value)} placeholder={method === "local" ? "patterns" : undefined} data-testid="labeling-model" />
            </Field>
            {method !== "local" && (
              <Field label="Base URL" hint="leave empty for the default">
                <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder={method === "ollama" ? "http://localhost:11434" : "https://api.openai.com/v1"} />
              </Field>
            )}
            {method !== "local" && (
              <Field label="API key" hint="sent once with this request, sealed by the server; never stored here">
                <input ref={keyRef} type="password" autoComplete="off" data-testid="labeling-api-key" />
              </Field>
            )}
            {method === "openai" && (
              <div className="grid grid-cols-2 gap-2">
                <Field label="$ / 1k input tokens">
                  <input type="number" min={0} step="any" value={priceIn} onChange={(e) => setPriceIn(e.target.value)} />
                </Field>
                <Field label="$ / 1k output tokens">
                  <input type="number" min={0} step="any" value={priceOut} onChange={(e) => setPriceOut(e.target.value)} />
                </Field>
              </div>
            )}
          </>
        )}
        <SelectionFields mode={selMode} setMode={setSelMode} indices={indices} setIndices={setIndices} filter={filter} setFilter={setFilter} />
        <label className="flex items-center gap-2 text-sm text-slate-300 md:col-span-2">
          <input type="checkbox" checked={score} onChange={(e) => setScore(e.target.checked)} data-testid="labeling-score" />
          score labels (detection + fuzzing; more requests)
        </label>
        <label
          className="flex items-center gap-2 text-sm text-slate-300 md:col-span-2"
          title="Off: a latent whose label you edited by hand keeps it; this run's label only goes into its History"
        >
          <input type="checkbox" checked={overwriteManual} onChange={(e) => setOverwriteManual(e.target.checked)} data-testid="labeling-overwrite-manual" />
          replace hand-edited labels (the old ones stay in each latent's History)
        </label>
        {needsLlm && (
          <div className="space-y-2 md:col-span-2">
            <Field label="Prompt template">
              <select value={templateId ?? ""} onChange={(e) => setTemplateId(num(e.target.value) ?? null)} data-testid="labeling-template">
                {templateId === null && <option value="">server default</option>}
                <TemplateOptions templates={templates.data?.items} />
              </select>
            </Field>
            <Field label={`Prompt (JSON)${edited ? " · edited" : ""}`}>
              <textarea rows={8} className="font-mono text-xs" value={promptText} onChange={(e) => setPromptText(e.target.value)} data-testid="labeling-prompt" />
            </Field>
            {promptError && <ErrorLine error={promptError} />}
            <div className="flex items-end gap-2">
              <Field label="Save as template" className="flex-1">
                <input value={saveName} onChange={(e) => setSaveName(e.target.value)} placeholder="template name" />
              </Field>
              <Button onClick={() => savePrompt()} disabled={!saveName.trim() || saveTemplate.isPending}>
                Save
              </Button>
            </div>
            <ErrorLine error={saveTemplate.error} />
          </div>
        )}
      </div>
      {estimate && <CostEstimateView estimate={estimate} />}
      {paid && !estimate && <p className="text-xs text-amber-300">Estimate the cost of this paid run before starting it.</p>}
      <ErrorLine error={estimateRun.error ?? start.error} />
    </Modal>
  );
}
