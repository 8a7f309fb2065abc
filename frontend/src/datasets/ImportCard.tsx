/**
 * Importing a dataset from one of four sources (built-in corpus, Hub, local path, upload). Hub tokens
 * live in form state only and are cleared once the import is accepted, so they never linger in the page.
 */
import { useState } from "react";
import { HubIdInput } from "../components/HubIdInput";
import { Button, Card, ErrorLine, Field, Tabs, num } from "../components/ui";
import { hubIdProblem } from "../lib/hubId";
import { useDatasetSources, useImportDataset, useUploadDataset } from "./queries";

type ImportTab = "builtin" | "hub" | "local" | "upload";

export function ImportCard() {
  const [tab, setTab] = useState<ImportTab>("builtin");
  const sources = useDatasetSources();
  // A Hub token lives only in this form's state (never in storage) and is cleared once sent.
  const create = useImportDataset(() => setHub((h) => ({ ...h, token: "" })));
  const upload = useUploadDataset();
  const [builtin, setBuiltin] = useState("python-stdlib");
  const [limit, setLimit] = useState("200");
  const [includeTests, setIncludeTests] = useState(false);
  const [hub, setHub] = useState({ repo_id: "", config: "", split: "train", token: "", max: "", streaming: false, text_column: "" });
  const [local, setLocal] = useState({ path: "", txt_mode: "file", text_column: "" });
  const [file, setFile] = useState<File | null>(null);

  const submit = () => {
    if (tab === "builtin") {
      create.mutate({
        source: { kind: "builtin", builtin, include_tests: includeTests, max_documents: num(limit) ?? null },
      });
    } else if (tab === "hub") {
      create.mutate({
        source: {
          kind: "hub",
          repo_id: hub.repo_id.trim(),
          config: hub.config.trim() || null,
          split: hub.split.trim() || "train",
          token: hub.token.trim() || null,
          streaming: hub.streaming,
          text_column: hub.text_column.trim() || null,
          max_documents: num(hub.max) ?? null,
        },
      });
    } else if (tab === "local") {
      create.mutate({
        source: {
          kind: "local",
          path: local.path.trim(),
          txt_mode: local.txt_mode as "file" | "line" | "paragraph",
          text_column: local.text_column.trim() || null,
        },
      });
    } else if (file) {
      const form = new FormData();
      form.append("file", file);
      upload.mutate(form);
    }
  };
  const error = create.error ?? upload.error;
  const pending = create.isPending || upload.isPending;
  // Canonical ids (`wikitext`) as well as `owner/name`; a malformed id is named before any request.
  const hubProblem = hub.repo_id.trim() ? hubIdProblem(hub.repo_id.trim()) : null;
  const ready =
    tab === "builtin" || (tab === "hub" && hub.repo_id.trim() && !hubProblem) || (tab === "local" && local.path.trim()) || (tab === "upload" && file);

  return (
    <Card title="Import a dataset" testId="import-card">
      <Tabs
        tabs={[
          { id: "builtin", label: "Built-in corpus" },
          { id: "hub", label: "HuggingFace Hub" },
          { id: "local", label: "Local path" },
          { id: "upload", label: "Upload file" },
        ]}
        value={tab}
        onChange={setTab}
      />
      <div className="mt-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        {tab === "builtin" && (
          <>
            <Field label="Corpus">
              <select value={builtin} onChange={(e) => setBuiltin(e.target.value)} data-testid="builtin-select">
                {(sources.data ?? [{ name: "python-stdlib", description: "" }, { name: "kjv", description: "" }]).map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Max documents" hint="Empty imports everything">
              <input type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} data-testid="builtin-limit" />
            </Field>
            {builtin === "python-stdlib" && (
              <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-300">
                <input type="checkbox" checked={includeTests} onChange={(e) => setIncludeTests(e.target.checked)} />
                include test folders
              </label>
            )}
            <p className="text-xs text-slate-500 sm:col-span-2 lg:col-span-4">
              {sources.data?.find((s) => s.name === builtin)?.description}
            </p>
          </>
        )}
        {tab === "hub" && (
          <>
            <Field label="Repo id" hint="Type to search the Hub; any id is accepted">
              <HubIdInput kind="datasets" placeholder="stanfordnlp/imdb" value={hub.repo_id} onChange={(repo_id) => setHub({ ...hub, repo_id })} testId="hub-repo-id" />
              {hubProblem && <span className="text-xs text-amber-300" data-testid="hub-id-problem">{hubProblem}</span>}
            </Field>
            <Field label="Config (subset)">
              <input value={hub.config} onChange={(e) => setHub({ ...hub, config: e.target.value })} />
            </Field>
            <Field label="Split">
              <input value={hub.split} onChange={(e) => setHub({ ...hub, split: e.target.value })} />
            </Field>
            <Field label="Access token" hint="For gated or private repos; never saved">
              <input
                type="password"
                autoComplete="off"
                value={hub.token}
                onChange={(e) => setHub({ ...hub, token: e.target.value })}
                data-testid="hub-token"
              />
            </Field>
            <Field label="Text column" hint="Default: text, content, body…">
              <input value={hub.text_column} onChange={(e) => setHub({ ...hub, text_column: e.target.value })} />
            </Field>
            <Field label="Max documents">
              <input type="number" min={1} value={hub.max} onChange={(e) => setHub({ ...hub, max: e.target.value })} />
            </Field>
            <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-300">
              <input type="checkbox" checked={hub.streaming} onChange={(e) => setHub({ ...hub, streaming: e.target.checked })} />
              stream rows
            </label>
          </>
        )}
        {tab === "local" && (
          <>
            <Field label="Path on the server" className="sm:col-span-2" hint="A txt/jsonl/json/parquet/csv file or a folder, under MISTUDIO_IMPORT_ROOTS">
              <input placeholder="/data/corpus" value={local.path} onChange={(e) => setLocal({ ...local, path: e.target.value })} />
            </Field>
            <Field label=".txt split">
              <select value={local.txt_mode} onChange={(e) => setLocal({ ...local, txt_mode: e.target.value })}>
                <option value="file">one document per file</option>
                <option value="line">one per line</option>
                <option value="paragraph">one per paragraph</option>
              </select>
            </Field>
            <Field label="Text column">
              <input value={local.text_column} onChange={(e) => setLocal({ ...local, text_column: e.target.value })} />
            </Field>
          </>
        )}
        {tab === "upload" && (
          <Field label="File" className="sm:col-span-2">
            <input type="file" accept=".txt,.jsonl,.json,.parquet,.csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </Field>
        )}
      </div>
      <div className="mt-4 flex items-center gap-3">
        <Button variant="primary" onClick={submit} disabled={!ready || pending} data-testid="import-submit">
          {pending ? "Starting…" : "Import"}
        </Button>
        <ErrorLine error={error} className="flex-1" />
      </div>
    </Card>
  );
}
