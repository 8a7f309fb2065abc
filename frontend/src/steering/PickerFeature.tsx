/** A feature in the picker: its index, label and top tokens. */
import type { Feature } from "../api/types";
import { parseTopTokens } from "../components/FeatureTable";

/** A search hit in the feature picker: index, label, and the tokens it fires on most, so a
 * researcher can tell a code-keyword feature from the rest before adding it. */
export function PickerFeature({ feature: f }: { feature: Pick<Feature, "index" | "label" | "top_tokens"> }) {
  const tokens = parseTopTokens(f.top_tokens).slice(0, 3);
  return (
    <span className="truncate">
      <span className="font-mono text-xs text-slate-500">#{f.index}</span> {f.label ?? <span className="text-slate-600">unlabelled</span>}
      {tokens.length > 0 && (
        <span className="ml-2 font-mono text-[11px] text-slate-500" data-testid="picker-top-tokens">
          {tokens.map((t) => JSON.stringify(t)).join(" ")}
        </span>
      )}
    </span>
  );
}
