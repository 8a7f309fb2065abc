/** Tokenize a dataset with a model's tokenizer into fixed-length packed sequences. */
import { useState } from "react";
import { useModels } from "../api/hooks";
import type { Dataset, Model } from "../api/types";
import { Button, ErrorLine, Field, Modal, num, IdOptions } from "../components/ui";
import { useTokenize } from "./queries";

export function TokenizeDialog({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const models = useModels();
  const [modelId, setModelId] = useState<number | null>(null);
  const [cfg, setCfg] = useState({
    max_length: "128",
    stride: "128",
    min_tokens: "1",
    max_documents: "",
    drop: "",
    prepend_bos: true,
    pack: true,
    long_documents: "windows" as "windows" | "truncate",
    drop_special_only: true,
  });
  const truncate = cfg.long_documents === "truncate";
  const create = useTokenize(() => onClose());
  const chosen: Model | undefined = models.data?.items.find((m) => m.id === modelId) ?? models.data?.items[0];
  const submit = () => {
    if (!chosen) return;
    create.mutate({
      dataset_id: dataset.id,
      model_id: chosen.id,
      config: {
        max_length: num(cfg.max_length),
        stride: truncate ? num(cfg.max_length) : num(cfg.stride), // unused when truncating, and never over max_length
        min_tokens: num(cfg.min_tokens),
        max_documents: num(cfg.max_documents) ?? null,
        prepend_bos: cfg.prepend_bos,
        pack: cfg.pack,
        long_documents: cfg.long_documents,
        drop_special_only: cfg.drop_special_only,
        drop_if_contains: cfg.drop.split(",").map((s) => s.trim()).filter(Boolean),
      },
    });
  };
  return (
    <Modal
      title={`Tokenize ${dataset.name}`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={submit} disabled={!chosen || create.isPending} data-testid="tokenize-submit">
            Tokenize
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="Tokenizer of model" className="col-span-2" hint={chosen ? `${chosen.source} · ${chosen.status}` : "Register a model first (Models panel)"}>
          <select value={chosen?.id ?? ""} onChange={(e) => setModelId(Number(e.target.value))} data-testid="tokenize-model">
            <IdOptions items={models.data?.items} />
          </select>
        </Field>
        <Field label="Max length (tokens)">
          <input type="number" min={2} value={cfg.max_length} onChange={(e) => setCfg({ ...cfg, max_length: e.target.value })} data-testid="tokenize-max-length" />
        </Field>
        <Field
          label="Long documents"
          hint={truncate ? "Keep the first max-length tokens of each; the rest is dropped" : "Cut into overlapping windows, every token kept"}
        >
          <select
            value={cfg.long_documents}
            onChange={(e) => setCfg({ ...cfg, long_documents: e.target.value as "windows" | "truncate" })}
            data-testid="tokenize-long-documents"
          >
            <option value="windows">windows (stride apart)</option>
            <option value="truncate">truncate at max length</option>
          </select>
        </Field>
        <Field label="Stride" hint={truncate ? "Not used when truncating" : "Step between overlapping windows of a long document"}>
          <input type="number" min={1} value={cfg.stride} disabled={truncate} onChange={(e) => setCfg({ ...cfg, stride: e.target.value })} data-testid="tokenize-stride" />
        </Field>
        <Field label="Min tokens per document">
          <input type="number" min={0} value={cfg.min_tokens} onChange={(e) => setCfg({ ...cfg, min_tokens: e.target.value })} />
        </Field>
        <Field label="Max documents">
          <input type="number" min={1} value={cfg.max_documents} onChange={(e) => setCfg({ ...cfg, max_documents: e.target.value })} />
        </Field>
        <Field label="Drop documents containing" className="col-span-2" hint="Comma-separated, case-insensitive">
          <input value={cfg.drop} onChange={(e) => setCfg({ ...cfg, drop: e.target.value })} />
        </Field>
        <label className="flex items-center gap-2 text-sm text-slate-300">
          <input type="checkbox" checked={cfg.prepend_bos} onChange={(e) => setCfg({ ...cfg, prepend_bos: e.target.checked })} />
          prepend BOS
        </label>
        <label className="flex items-center gap-2 text-sm text-slate-300">
          <input type="checkbox" checked={cfg.pack} onChange={(e) => setCfg({ ...cfg, pack: e.target.checked })} />
          pack short documents
        </label>
        <label className="col-span-2 flex items-center gap-2 text-sm text-slate-300">
          <input
            type="checkbox"
            checked={cfg.drop_special_only}
            onChange={(e) => setCfg({ ...cfg, drop_special_only: e.target.checked })}
            data-testid="tokenize-drop-special"
          />
          drop documents made only of special tokens
        </label>
      </div>
      <ErrorLine error={create.error} />
    </Modal>
  );
}
