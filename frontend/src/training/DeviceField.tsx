/**
 * The training form's device. With several GPUs (from the system monitor's live sample) it offers
 * each as `cuda:N` with its free memory and use, and until the user picks one it defaults to the
 * GPU with the most free memory (the run's job then takes that GPU's lock); with one GPU or none it
 * offers `cpu` and `cuda`.
 */
import { useEffect, useState } from "react";
import { Field } from "../components/ui";
import { formatBytes } from "../lib/format";
import { freestGpu } from "../lib/gpus";
import { useSystemStore } from "../ws/live";

export function DeviceField({ value, onChange }: { value: string; onChange: (device: string) => void }) {
  const gpus = useSystemStore((s) => s.latest?.gpus) ?? [];
  const several = gpus.length > 1;
  const freest = several ? freestGpu(gpus) : null;
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (freest !== null && !touched && !/^cuda:\d+$/.test(value)) onChange(`cuda:${freest}`);
  }, [freest, touched, value, onChange]);
  const options = several
    ? gpus.map((g) => {
        const free = (g.memory_total_bytes ?? 0) - (g.memory_used_bytes ?? 0);
        const use = g.utilization_percent === undefined ? "" : ` · ${g.utilization_percent.toFixed(0)}% busy`;
        return { value: `cuda:${g.index}`, label: `cuda:${g.index}${g.index === freest ? " (freest)" : ""}`, detail: `${formatBytes(free)} free${use}` };
      })
    : [{ value: "cuda", label: "cuda", detail: "" }];
  const known = value === "cpu" || options.some((o) => o.value === value);
  return (
    <Field label="Device" hint={several ? `${value}: ${options.find((o) => o.value === value)?.detail ?? "—"}; the freest of ${gpus.length} GPUs until you pick one` : undefined}>
      <select
        value={value}
        onChange={(e) => {
          setTouched(true);
          onChange(e.target.value);
        }}
        data-testid="train-device"
      >
        <option value="cpu">cpu</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
        {!known && <option value={value}>{value}</option>}
      </select>
    </Field>
  );
}
