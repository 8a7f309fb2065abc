/** The model an SAE reads: pick, change or clear it; the server checks the hook and width and says why not. */
import { useModels } from "../api/hooks";
import type { SAE } from "../api/types";
import { ErrorLine, IdOptions } from "../components/ui";
import { useUpdateSae } from "./queries";

export function LinkModelSelect({ sae }: { sae: SAE }) {
  const models = useModels();
  const update = useUpdateSae(sae.id);
  return (
    <div className="w-32">
      <select
        aria-label={`Model of ${sae.name}`}
        className="w-full py-1 text-xs"
        value={sae.model_id ?? ""}
        disabled={sae.status === "pending" || update.isPending}
        onChange={(e) => update.mutate({ model_id: e.target.value ? Number(e.target.value) : null })}
        data-testid="sae-link-model"
      >
        <option value="">not linked</option>
        <IdOptions items={models.data?.items} />
      </select>
      <ErrorLine error={update.error} className="mt-1 px-2 py-1 text-[11px]" />
    </div>
  );
}
