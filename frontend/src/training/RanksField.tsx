/**
 * How many data-parallel ranks train the run (`run.devices`): on the CPU a number of CPU ranks
 * (each gets cores / ranks threads); with several GPUs (from the system monitor's live sample, as
 * `DeviceField`) a box per GPU, one rank each, the chosen device always among them as rank 0.
 * One GPU, or a plain `cuda`, trains in one process and shows nothing to choose.
 */
import { Field, num } from "../components/ui";
import type { TrainingForm } from "../lib/trainingForm";
import { rankDevices } from "../lib/trainingForm";
import { useSystemStore } from "../ws/live";

type RankKeys = Pick<TrainingForm, "device" | "cpuRanks" | "gpus" | "batchTokens">;

export function RanksField({ form, onChange }: { form: RankKeys; onChange: (next: Partial<TrainingForm>) => void }) {
  const latest = useSystemStore((s) => s.latest);
  const gpus = latest?.gpus ?? [];
  const ranks = rankDevices(form)?.length ?? 1;
  const uneven = ranks > 1 && form.batchTokens % ranks !== 0;
  const hint = uneven ? (
    <span className="text-amber-300">batch ({form.batchTokens}) must split evenly over {ranks} ranks</span>
  ) : ranks > 1 ? (
    "data parallel: one result, equal to one process's"
  ) : undefined;
  if (form.device === "cpu") {
    const cores = latest?.cpu.count;
    return (
      <Field label="CPU ranks" hint={hint ?? (cores ? `${cores} cores shared by the ranks` : undefined)}>
        <input
          type="number"
          min={1}
          max={64}
          value={form.cpuRanks}
          onChange={(e) => onChange({ cpuRanks: Math.max(1, Math.min(64, Math.round(num(e.target.value) ?? 1))) })}
          data-testid="train-ranks"
        />
      </Field>
    );
  }
  if (gpus.length < 2 || !/^cuda:\d+$/.test(form.device)) return null;
  const chosen = new Set([form.device, ...form.gpus]);
  const toggle = (device: string) => {
    const next = new Set(chosen);
    if (next.has(device)) next.delete(device);
    else next.add(device);
    onChange({ gpus: [...next] });
  };
  return (
    <Field label={`GPUs (${chosen.size} rank${chosen.size === 1 ? "" : "s"})`} hint={hint}>
      <div className="flex flex-wrap gap-x-3 gap-y-1 py-1 text-xs" data-testid="train-gpus">
        {gpus.map((g) => {
          const device = `cuda:${g.index}`;
          return (
            <label key={device} className="flex items-center gap-1 font-mono" title={device === form.device ? "rank 0 (the device above)" : undefined}>
              <input type="checkbox" checked={chosen.has(device)} disabled={device === form.device} onChange={() => toggle(device)} data-testid={`train-gpu-${g.index}`} />
              {device}
            </label>
          );
        })}
      </div>
    </Field>
  );
}
