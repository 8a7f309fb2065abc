/**
 * Start an extraction (top examples, statistics, histograms) of an SAE, optionally from a template.
 * It starts on the SAE's own tokenization and says before Extract when the chosen one is too short.
 * "Then label with" queues a labelling run when the extraction is ready (one run: extract, then label).
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useModels, useSaes, useTokenizations } from "../api/hooks";
import { Button, ErrorLine, Field, Modal, num, IdOptions } from "../components/ui";
import { formatCount } from "../lib/format";
import { useUi } from "../store/ui";
import { SaveTemplateDialog } from "../templates/SaveTemplateDialog";
import { markTemplateUsed } from "../templates/queries";
import { EXTRACTION_DEFAULTS, ExtractionFields, extractionConfig, withTemplate } from "./ExtractionFields";
import { useExtract } from "./queries";
import { NO_LABELING, type ThenLabel, ThenLabelFields, followUpLabeling } from "./ThenLabelFields";

export function ExtractionDialog({ saeId, onClose }: { saeId: number | null; onClose: () => void }) {
  const saes = useSaes();
  const models = useModels();
  const toks = useTokenizations({ status: "ready" });
  const [chosenSae, setChosenSae] = useState<number | null>(saeId);
  const sae = saes.data?.items.find((s) => s.id === chosenSae) ?? saes.data?.items[0];
  const [tokId, setTokId] = useState<number | null>(null);
  const [cfg, setCfg] = useState(EXTRACTION_DEFAULTS);
  const compatibleToks = toks.data?.items.filter((t) => !sae?.model_id || t.model_id === sae.model_id) ?? [];
  // Until one is chosen: the tokenization the SAE was trained on (its lineage), else the newest
  // one of its model with enough tokens, else the newest; the chosen one is checked before Extract.
  const ownTok = (sae?.lineage as { tokenization_id?: unknown } | undefined)?.tokenization_id;
  const enough = (t: { n_tokens?: number | null }) => (t.n_tokens ?? Infinity) >= (num(cfg.n_tokens) ?? 0);
  const tok =
    compatibleToks.find((t) => t.id === tokId) ??
    compatibleToks.find((t) => t.id === ownTok) ??
    compatibleToks.find(enough) ??
    compatibleToks[0];
  const model = models.data?.items.find((m) => m.id === (sae?.model_id ?? tok?.model_id));
  const [saveOpen, setSaveOpen] = useState(false);
  const setExtractionId = useUi((s) => s.setExtractionId);
  const pending = useUi((s) => s.pendingTemplate);
  const loadTemplate = useUi((s) => s.loadTemplate);
  const client = useQueryClient();
  useEffect(() => {
    if (pending?.kind !== "extraction") return;
    setCfg((c) => withTemplate(c, pending.config));
    markTemplateUsed(pending.id, client);
    loadTemplate(null);
  }, [pending, loadTemplate, client]);
  const config = extractionConfig(cfg);
  const [thenLabel, setThenLabel] = useState<ThenLabel>(NO_LABELING);
  const keyRef = useRef<HTMLInputElement>(null);
  // Read the key once, clear the field, and send it only in this request.
  const takeKey = () => {
    const key = keyRef.current?.value ?? "";
    if (keyRef.current) keyRef.current.value = "";
    return key || undefined;
  };
  const inputProblem = tok ? extractionInputProblem(tok, config.n_tokens) : null;
  const create = useExtract((out) => {
    setExtractionId(out.id);
    onClose();
  });
  return (
    <Modal
      title="Extract features"
      onClose={onClose}
      footer={
        <>
          <Button className="mr-auto" onClick={() => setSaveOpen(true)}>
            Save as template
          </Button>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!sae || !tok || !model || !!inputProblem || create.isPending}
            data-testid="extraction-submit"
            onClick={() =>
              sae &&
              tok &&
              model &&
              create.mutate({
                sae_id: sae.id,
                model_id: model.id,
                tokenization_id: tok.id,
                config,
                labeling: followUpLabeling(thenLabel, takeKey()),
              })
            }
          >
            Extract
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="SAE" className="col-span-2" hint={sae ? `${sae.hook_name} · ${formatCount(sae.d_sae)} latents` : undefined}>
          <select value={sae?.id ?? ""} onChange={(e) => setChosenSae(Number(e.target.value))} data-testid="extraction-sae">
            <IdOptions items={saes.data?.items} />
          </select>
        </Field>
        <Field label="Evaluation tokens from" className="col-span-2" hint={model ? `model ${model.name}` : "The SAE's model must be registered"}>
          <select value={tok?.id ?? ""} onChange={(e) => setTokId(Number(e.target.value))} data-testid="extraction-tokenization">
            <IdOptions
              items={compatibleToks}
              label={(t) => `${t.name} (${formatCount(t.n_tokens)} tokens)${t.id === ownTok ? " · the SAE's training data" : ""}`}
            />
          </select>
        </Field>
        <ExtractionFields values={cfg} onChange={setCfg} />
        <ThenLabelFields value={thenLabel} onChange={setThenLabel} keyRef={keyRef} />
      </div>
      {inputProblem && (
        <p className="mt-3 text-xs text-amber-300" role="alert" data-testid="extraction-input-problem">
          {inputProblem}
        </p>
      )}
      <ErrorLine error={create.error} />
      {saveOpen && <SaveTemplateDialog kind="extraction" config={config} onClose={() => setSaveOpen(false)} />}
    </Modal>
  );
}

/**
 * Why `tok` cannot give this extraction its tokens, in one line, or null. The extraction reads
 * `nTokens` tokens and stops early when the tokenization runs out, so a short one would quietly
 * give top examples from a fraction of what was asked.
 */
export function extractionInputProblem(tok: { name: string; n_tokens?: number | null }, nTokens: number | undefined): string | null {
  if (nTokens === undefined || tok.n_tokens === null || tok.n_tokens === undefined || tok.n_tokens >= nTokens) return null;
  const have = tok.n_tokens.toLocaleString("en-US");
  return `${tok.name} has ${have} tokens; this extraction reads ${nTokens.toLocaleString("en-US")}: choose a larger tokenization or lower Evaluation tokens to ${have}`;
}
