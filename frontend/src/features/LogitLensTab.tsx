/** The tokens a latent's decoder direction promotes and suppresses (logit lens). */
import type { Feature } from "../api/types";
import { TokenBarChart } from "../components/charts";
import { Loading } from "./Loading";
import { Unavailable } from "./Unavailable";
import { useFeatureDetail } from "./queries";

export function LogitLensTab({ feature }: { feature: Feature }) {
  const d = useFeatureDetail(feature.id);
  if (d.error) return <Unavailable error={d.error} />;
  if (!d.data) return <Loading />;
  const q = { data: d.data.logitLens };
  const label = (t: { token: string }) => JSON.stringify(t.token).slice(1, -1);
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
