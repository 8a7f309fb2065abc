/**
 * A Hub repo id field that suggests repos while typing (issue 18 point 7): 300 ms after the last
 * keystroke it asks the server's Hub search (`GET /models/hub/search` or `/datasets/hub/search`,
 * most downloaded first) and lists what matches under the field. It is a suggestion only: any id
 * may be typed, a local path is never searched, and a Hub that cannot be reached is one muted line
 * under the field, never a blocked form. Each answer is keyed by its text (TanStack Query), so a
 * late answer for an older text never replaces the current one.
 */
import { useQuery } from "@tanstack/react-query";
import { useState, type KeyboardEvent } from "react";
import { api, errorMessage } from "../api/client";
import type { components } from "../api/schema";
import { formatCount } from "../lib/format";
import { isLocalPath } from "../lib/hubId";
import { useDebounced } from "../lib/useDebounced";

type HubSearchResults = components["schemas"]["HubSearchResults"];
export type HubKind = "models" | "datasets";

/** Characters typed before the Hub is asked (one letter matches half the Hub). */
export const MIN_SEARCH_CHARS = 2;
export const SEARCH_DEBOUNCE_MS = 300;

export function useHubIdSearch(kind: HubKind, text: string, enabled: boolean) {
  const q = useDebounced(text.trim(), SEARCH_DEBOUNCE_MS);
  const active = enabled && q.length >= MIN_SEARCH_CHARS && !isLocalPath(q);
  return useQuery({
    queryKey: ["hub-search", kind, q],
    queryFn: ({ signal }) => api.get<HubSearchResults>(`/${kind}/hub/search`, { q, limit: 10 }, signal),
    enabled: active,
    staleTime: 60_000,
    retry: false,
  });
}

export function HubIdInput({
  kind,
  value,
  onChange,
  placeholder,
  testId,
}: {
  kind: HubKind;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  testId?: string;
}) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const search = useHubIdSearch(kind, value, open);
  const text = value.trim();
  // A picked (or fully typed) id that is the only match needs no list under it.
  const repos = (search.data?.repos ?? []).filter((r) => !(r.repo_id === text && search.data?.repos.length === 1));
  const listId = `${testId ?? kind}-suggestions`;
  const shown = open && repos.length > 0;
  const pick = (id: string) => {
    onChange(id);
    setOpen(false);
    setActive(-1);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (!shown) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((i) => (i + step + repos.length) % repos.length);
    } else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      pick(repos[active].repo_id);
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };
  return (
    <div className="relative">
      <input
        className="w-full"
        value={value}
        placeholder={placeholder}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        // Leave time for a click on a suggestion to land before the list closes.
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKeyDown}
        role="combobox"
        aria-expanded={shown}
        aria-controls={listId}
        aria-autocomplete="list"
        autoComplete="off"
        spellCheck={false}
        data-testid={testId}
      />
      {/* At least as wide as the field, wider when an id needs it (a narrow column cut them). */}
      {shown && (
        <ul
          id={listId}
          role="listbox"
          className="absolute z-20 mt-1 max-h-64 w-max min-w-full max-w-[min(36rem,90vw)] overflow-auto rounded-md border border-slate-700 bg-slate-900 py-1 shadow-lg"
          data-testid="hub-suggestions"
        >
          {repos.map((r, i) => (
            <li key={r.repo_id} role="option" aria-selected={i === active}>
              <button
                type="button"
                className={`flex w-full items-baseline justify-between gap-3 px-2 py-1 text-left hover:bg-slate-800 ${i === active ? "bg-slate-800" : ""}`}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => pick(r.repo_id)}
              >
                <span className="min-w-0 truncate font-mono text-xs text-slate-200" title={r.repo_id}>
                  {r.repo_id}
                  {r.gated && <span className="ml-2 text-[10px] text-amber-300">gated</span>}
                  {r.private && <span className="ml-2 text-[10px] text-sky-300">private</span>}
                </span>
                <span className="shrink-0 text-[11px] text-slate-500">{formatCount(r.downloads)} downloads</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {open && search.isError && (
        <span className="mt-1 block text-[11px] text-slate-500" data-testid="hub-search-error">
          No suggestions: {errorMessage(search.error)}
        </span>
      )}
    </div>
  );
}
