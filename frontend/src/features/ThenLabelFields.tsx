/**
 * "Then label with": the extraction dialog's choice of a labelling run to queue when the extraction
 * is ready (the request's `labeling`, checked by the server like a labelling request). The method
 * list is the labelling panel's; "none" extracts only. As in the labelling dialog, the API key field
 * is uncontrolled: the dialog reads it once when it sends the request and clears it, so the key is
 * never kept in React state.
 */
import type { RefObject } from "react";
import type { LabelingConfig } from "../api/types";
import { Field } from "../components/ui";
import { METHODS } from "../labeling/options";

export interface ThenLabel {
  method: "none" | (typeof METHODS)[number];
  model: string;
  baseUrl: string;
  score: boolean;
}

export const NO_LABELING: ThenLabel = { method: "none", model: "", baseUrl: "", score: false };

/** The request's `labeling` for the choice (undefined: extract only). */
export function followUpLabeling(choice: ThenLabel, apiKey?: string): { config: LabelingConfig } | undefined {
  if (choice.method === "none") return undefined;
  const config: Partial<LabelingConfig> = { method: choice.method, score: choice.score };
  if (choice.method !== "rules") {
    if (choice.model.trim()) config.model = choice.model.trim();
    if (choice.baseUrl.trim()) config.base_url = choice.baseUrl.trim();
    if (apiKey) config.api_key = apiKey;
  }
  return { config: config as LabelingConfig };
}

export function ThenLabelFields({ value, onChange, keyRef }: { value: ThenLabel; onChange: (v: ThenLabel) => void; keyRef: RefObject<HTMLInputElement> }) {
  const llm = value.method !== "none" && value.method !== "rules";
  return (
    <>
      <Field label="Then label with" hint={value.method === "none" ? "Extract only" : "Queued when the extraction is ready"}>
        <select value={value.method} onChange={(e) => onChange({ ...value, method: e.target.value as ThenLabel["method"] })} data-testid="extraction-label-method">
          <option value="none">none</option>
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </Field>
      {value.method !== "none" ? (
        <label className="flex items-center gap-2 self-center text-sm text-slate-300">
          <input type="checkbox" checked={value.score} onChange={(e) => onChange({ ...value, score: e.target.checked })} data-testid="extraction-label-score" />
          score labels
        </label>
      ) : (
        <div />
      )}
      {llm && (
        <>
          <Field label="Labelling model" hint={value.method === "local" ? "a Hugging Face model id or folder" : value.method === "ollama" ? "e.g. llama3.1:8b" : "e.g. gpt-4o-mini"}>
            <input value={value.model} onChange={(e) => onChange({ ...value, model: e.target.value })} data-testid="extraction-label-model" />
          </Field>
          {value.method !== "local" ? (
            <Field label="Base URL" hint="leave empty for the default">
              <input value={value.baseUrl} onChange={(e) => onChange({ ...value, baseUrl: e.target.value })} />
            </Field>
          ) : (
            <div />
          )}
          {value.method !== "local" && (
            <Field label="API key" className="col-span-2" hint="sent once with this request, sealed by the server; never stored here">
              <input ref={keyRef} type="password" autoComplete="off" data-testid="extraction-label-api-key" />
            </Field>
          )}
        </>
      )}
    </>
  );
}
