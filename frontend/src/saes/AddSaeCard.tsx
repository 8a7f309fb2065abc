/**
 * Add an SAE: a Hub repo (and folder), a SAELens release name, or a folder on the server. The Hub can be
 * searched and a repo browsed first, so one SAE of hundreds is picked before anything large downloads.
 * The access token lives in this form's state only: cleared once the form's import is accepted, kept
 * while SAEs are added one by one from a browsed listing (a gated repo needs it for each).
 */
import { useState } from "react";
import { useModels } from "../api/hooks";
import type { HubSae, SAEAdd } from "../api/types";
import { Button, Card, ErrorLine, Field, IdOptions } from "../components/ui";
import { HubBrowseList } from "./HubBrowseList";
import { HubSearch } from "./HubSearch";
import { useAddSae, useHubBrowse } from "./queries";

const EMPTY_FORM = { source: "", revision: "", patterns: "", token: "", modelId: "", name: "" };

/** "a/*, b/*" or one per line -> ["a/*", "b/*"] (null when empty: the server's default). */
export function splitPatterns(text: string): string[] | null {
  const parts = text
    .split(/[\n,]/)
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.length ? parts : null;
}

export function AddSaeCard() {
  const [form, setForm] = useState(EMPTY_FORM);
  const models = useModels();
  const browse = useHubBrowse();
  const add = useAddSae();
  const clear = () => setForm((f) => ({ ...f, source: "", name: "", patterns: "", token: "" }));
  const set = (key: keyof typeof EMPTY_FORM) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const common = {
    revision: form.revision.trim() || null,
    token: form.token.trim() || null,
    model_id: form.modelId ? Number(form.modelId) : null,
  };
  const submit = (body: Partial<SAEAdd> & { source: string }, onAccepted?: () => void) =>
    add.mutate({ ...common, ...body }, { onSuccess: onAccepted });
  const openSource = (source: string) => {
    setForm({ ...form, source });
    add.reset();
    browse.mutate({ source, revision: common.revision, token: common.token });
  };
  const addEntry = (entry: HubSae) => {
    const repo = browse.data?.repo_id ?? "";
    submit({ source: entry.release_sae ?? (entry.path ? `${repo}/${entry.path}` : repo) });
  };
  return (
    <Card title="Add an SAE" testId="add-sae">
      <HubSearch onPick={openSource} />
      <div className="mt-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field
          label="Hub repo, SAELens release or server path"
          className="sm:col-span-2"
          hint="org/name[/folder], e.g. jbloom/GPT2-Small-SAEs-Reformatted/blocks.6.hook_resid_pre; gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical; /data/saes/my-sae"
        >
          <input value={form.source} onChange={set("source")} placeholder="org/name/folder" data-testid="sae-source" />
        </Field>
        <Field label="Model" hint="Default: the model the SAE's config names, if registered">
          <select value={form.modelId} onChange={set("modelId")} data-testid="sae-model">
            <option value="">match by model name</option>
            <IdOptions items={models.data?.items} />
          </select>
        </Field>
        <Field label="Display name">
          <input value={form.name} onChange={set("name")} data-testid="sae-name" />
        </Field>
        <Field label="Files to download" className="sm:col-span-2" hint="Patterns from the repo root, comma-separated; default: the folder's files">
          <input value={form.patterns} onChange={set("patterns")} placeholder="layer_12/width_16k/average_l0_82/*" data-testid="sae-allow" />
        </Field>
        <Field label="Revision">
          <input value={form.revision} onChange={set("revision")} placeholder="main" data-testid="sae-revision" />
        </Field>
        <Field label="Access token" hint="For gated or private repos; never saved">
          <input type="password" autoComplete="off" value={form.token} onChange={set("token")} data-testid="sae-token" />
        </Field>
      </div>
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <Button
          variant="primary"
          disabled={!form.source.trim() || add.isPending}
          onClick={() => submit({ source: form.source.trim(), allow_patterns: splitPatterns(form.patterns), name: form.name.trim() || null }, clear)}
          data-testid="sae-add-submit"
        >
          Add SAE
        </Button>
        <Button
          disabled={!form.source.trim() || form.source.trim().startsWith("/") || browse.isPending}
          onClick={() => openSource(form.source.trim())}
          data-testid="sae-browse"
        >
          {browse.isPending ? "Listing…" : "Browse repo"}
        </Button>
        <span className="text-[11px] text-slate-500">SAELens, Gemma Scope 1 and 2, Llama Scope, sparsify and dictionary_learning folders are read.</span>
      </div>
      <ErrorLine error={add.error} className="mt-3" />
      <ErrorLine error={browse.error} className="mt-3" />
      {browse.data && <HubBrowseList listing={browse.data} onAdd={addEntry} adding={add.isPending} />}
    </Card>
  );
}
