/**
 * The tokens a latent's decoder direction promotes and suppresses (logit lens). Both charts' value
 * axes include 0, so a bar's length is its logit (not its distance from the smallest one).
 */
import type { Feature } from "../api/types";
import { TokenBarChart } from "../components/charts";
import { tokenLabel } from "../lib/tokenLabel";
import { Loading } from "./Loading";
import { Unavailable } from "./Unavailable";
import { useFeatureDetail } from "./queries";

export function LogitLensTab({ feature }: { feature: Feature }) {
  const d = useFeatureDetail(feature.id);
  if (d.error) return <Unavailable error={d.error} />;
  if (!d.data) return <Loading />;
  const q = { data: d.data.logitLens };
  // Never blank: a space-only token shows as ␣; a lone byte of a character comes as <0xE2>.
  const label = (t: { token: string }) => tokenLabel(t.token);
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="logit-lens">
      <div>
        <div className="mb-1 text-xs text-slate-400">Promoted tokens</div>
        <TokenBarChart data={q.data.positive.map((t) => ({ token: label(t), value: t.value }))} />
      </div>
      <div>
        <div className="mb-1 text-xs text-slate-400">Suppressed tokens</div>
        <TokenBarChart data={q.data.negative.map((t) => ({ token: label(t), value: t.value }))} />
      </div>
    </div>
  );
}
