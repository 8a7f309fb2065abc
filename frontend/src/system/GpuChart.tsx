/**
 * GPU utilisation and memory use (left axis, %) with temperature (right axis, °C) on one chart,
 * and power draw below it (W), over the last hour. Rows come from `gpuSeries`.
 */
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { AXIS, TOOLTIP, TimeChart, clockTicks } from "../components/charts";
import type { GpuRow } from "./gpuSeries";

export function GpuChart({ rows, testId }: { rows: GpuRow[]; testId?: string }) {
  return (
    <div data-testid={testId}>
      <div style={{ height: 160 }}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 4, right: 0, left: 0, bottom: 0 }}>
            <CartesianGrid stroke="#1e293b" />
            <XAxis dataKey="t" type="number" domain={["dataMin", "dataMax"]} {...AXIS} tickFormatter={clockTicks(rows)} />
            <YAxis yAxisId="pct" {...AXIS} width={44} domain={[0, 100]} tickFormatter={(v: number) => `${v}%`} />
            <YAxis yAxisId="temp" orientation="right" {...AXIS} width={44} domain={[0, 100]} tickFormatter={(v: number) => `${v}°C`} />
            <Tooltip
              {...TOOLTIP}
              labelFormatter={(t) => new Date(Number(t) * 1000).toLocaleTimeString()}
              formatter={(v, name) => (name === "temperature" ? `${Number(v).toFixed(0)} °C` : `${Number(v).toFixed(0)}%`)}
            />
            <Line yAxisId="pct" dataKey="util" name="utilisation" dot={false} stroke="#f59e0b" strokeWidth={1.5} isAnimationActive={false} connectNulls />
            <Line yAxisId="pct" dataKey="mem" name="memory" dot={false} stroke="#a78bfa" strokeWidth={1.5} isAnimationActive={false} connectNulls />
            <Line yAxisId="temp" dataKey="temp" name="temperature" dot={false} stroke="#f43f5e" strokeWidth={1.5} strokeDasharray="4 2" isAnimationActive={false} connectNulls />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="mt-1 flex gap-4 text-[11px] text-slate-400">
        <span className="text-amber-400">— utilisation %</span>
        <span className="text-violet-400">— memory %</span>
        <span className="text-rose-400">- - temperature °C (right axis)</span>
      </div>
      <div className="mt-3 text-xs text-slate-400">Power draw</div>
      <TimeChart data={rows as unknown as Record<string, number | null>[]} height={90} unit=" W" series={[{ key: "power", label: "power", colour: "#38bdf8" }]} />
    </div>
  );
}
