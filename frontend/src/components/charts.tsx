/** Chart wrappers over recharts, themed for the dark slate UI. */
import type { ReactElement, ReactNode } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
  type XAxisProps,
  type YAxisProps,
} from "recharts";
import { formatCount, formatNumber } from "../lib/format";

export const AXIS = { stroke: "#64748b", fontSize: 10 };
export const TOOLTIP = {
  contentStyle: { background: "#0f172a", border: "1px solid #334155", borderRadius: 6, fontSize: 12 },
  labelStyle: { color: "#cbd5e1" },
  itemStyle: { color: "#e2e8f0" },
};
/** Line colours, one per series (SAE). */
export const SERIES_COLOURS = ["#10b981", "#38bdf8", "#f59e0b", "#a78bfa", "#f472b6", "#94a3b8"];

/** The x axis of a chart over training steps (`dataKey` "step"). */
export const STEP_AXIS: XAxisProps = {
  ...AXIS,
  dataKey: "step",
  type: "number",
  domain: ["dataMin", "dataMax"],
  tickFormatter: (v: number) => formatCount(v),
};

/** A y axis of metric values, linear from 0 or logarithmic (spread over orders of magnitude). */
export function valueAxis(log: boolean): YAxisProps {
  return {
    ...AXIS,
    width: 48,
    scale: log ? "log" : "auto",
    domain: log ? ["auto", "auto"] : [0, "auto"],
    allowDataOverflow: log,
    tickFormatter: (v: number) => formatNumber(v, 2),
  };
}

/** Tooltip of a chart over steps: "step 120", then each value with `formatNumber`. */
export const STEP_TOOLTIP = {
  ...TOOLTIP,
  formatter: (v: unknown) => formatNumber(Number(v)),
  labelFormatter: (l: unknown) => `step ${l}`,
};

/** Bars for a histogram given as edges (n+1) and counts (n). */
export function HistogramChart({
  bins,
  counts,
  height = 180,
  xLabel,
  decimals = false,
}: {
  bins: number[];
  counts: number[];
  height?: number;
  xLabel?: string;
  /** Bins are small real numbers (activations), not counts of tokens. */
  decimals?: boolean;
}) {
  const edge = (v: number) => (decimals ? formatNumber(v, 2) : formatCount(Math.round(v)));
  const data = counts.map((count, i) => ({ bin: `${edge(bins[i])}–${edge(bins[i + 1])}`, count }));
  return (
    <div style={{ height }} data-testid="histogram">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 4, right: 8, left: 0, bottom: xLabel ? 14 : 0 }}>
          <CartesianGrid stroke="#1e293b" vertical={false} />
          <XAxis dataKey="bin" {...AXIS} interval="preserveStartEnd" label={xLabel ? { value: xLabel, position: "insideBottom", offset: -8, fill: "#64748b", fontSize: 10 } : undefined} />
          <YAxis {...AXIS} width={44} tickFormatter={(v: number) => formatCount(v)} />
          <Tooltip {...TOOLTIP} cursor={{ fill: "#1e293b" }} />
          <Bar dataKey="count" fill="#10b981" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export interface SeriesPoint {
  step: number;
  [series: string]: number | null;
}

/**
 * The frame of a small chart: a header line (a title on the left, a value on the right), then a
 * body of `height` pixels that says "waiting for data…" while `empty`.
 */
export function ChartFrame({
  testId,
  header,
  empty,
  height,
  children,
  ...attrs
}: {
  testId: string;
  header: ReactNode;
  empty: boolean;
  height: number;
  /** The recharts chart, sized to the body. */
  children: ReactElement;
  [dataAttribute: `data-${string}`]: string;
}) {
  return (
    <div className="rounded-md bg-slate-950/60 p-2" data-testid={testId} {...attrs}>
      <div className="mb-1 flex justify-between text-[11px]">{header}</div>
      <div style={{ height }}>
        {empty ? (
          <div className="flex h-full items-center justify-center text-[11px] text-slate-600">waiting for data…</div>
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            {children}
          </ResponsiveContainer>
        )}
      </div>
    </div>
  );
}

/** A small line chart of one metric over steps, one line per series (SAE). */
export function MetricChart({
  title,
  data,
  series,
  height = 150,
  log = false,
}: {
  title: string;
  data: SeriesPoint[];
  series: string[];
  height?: number;
  log?: boolean;
}) {
  const latest = data.length ? data[data.length - 1] : undefined;
  return (
    <ChartFrame
      testId={`chart-${title}`}
      data-scale={log ? "log" : "linear"}
      height={height}
      empty={data.length === 0}
      header={
        <>
          <span className="font-medium text-slate-300">{title}</span>
          <span className="font-mono text-slate-400">
            {latest && series.length === 1 ? formatNumber(latest[series[0]] as number | null) : ""}
          </span>
        </>
      }
    >
      <LineChart data={data} margin={{ top: 2, right: 6, left: 0, bottom: 0 }}>
        <CartesianGrid stroke="#1e293b" />
        <XAxis {...STEP_AXIS} />
        <YAxis {...valueAxis(log)} />
        <Tooltip {...STEP_TOOLTIP} />
        {series.map((s, i) => (
          <Line key={s} dataKey={s} dot={false} stroke={SERIES_COLOURS[i % SERIES_COLOURS.length]} strokeWidth={1.5} isAnimationActive={false} connectNulls />
        ))}
      </LineChart>
    </ChartFrame>
  );
}

/** Horizontal bars of token -> value (logit lens), positive in emerald, negative in rose. */
export function TokenBarChart({ data, height }: { data: { token: string; value: number }[]; height?: number }) {
  const h = height ?? Math.max(120, data.length * 18 + 20);
  return (
    <div style={{ height: h }} data-testid="token-bars">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" margin={{ top: 0, right: 12, left: 4, bottom: 0 }}>
          <CartesianGrid stroke="#1e293b" horizontal={false} />
          {/* The axis always includes 0: bars grow from it, so all-negative values (suppressed
              tokens) are not drawn from the smallest one. */}
          <XAxis
            type="number"
            {...AXIS}
            domain={[(min: number) => Math.min(0, min), (max: number) => Math.max(0, max)]}
            tickFormatter={(v: number) => formatNumber(v, 2)}
          />
          <YAxis type="category" dataKey="token" {...AXIS} width={110} interval={0} tick={{ fill: "#cbd5e1", fontSize: 11, fontFamily: "monospace" }} />
          <Tooltip {...TOOLTIP} cursor={{ fill: "#1e293b" }} formatter={(v) => formatNumber(Number(v))} />
          <Bar dataKey="value" isAnimationActive={false}>
            {data.map((d, i) => (
              <Cell key={i} fill={d.value >= 0 ? "#10b981" : "#f43f5e"} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** A time series for the System panel (x = unix seconds). */
/** Clock ticks for a time axis over `data`'s `t` (seconds): with seconds when the span is under
 * ten minutes, so a short span's ticks do not all read the same minute. */
export function clockTicks(data: { t?: number | null }[]): (t: number) => string {
  const times = data.map((d) => Number(d.t)).filter(Number.isFinite);
  const span = times.length ? Math.max(...times) - Math.min(...times) : 0;
  const options: Intl.DateTimeFormatOptions = span < 600 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  return (t: number) => new Date(t * 1000).toLocaleTimeString([], options);
}

export function TimeChart({
  data,
  series,
  height = 140,
  unit = "%",
  max,
  format,
  tick,
}: {
  data: Record<string, number | null>[];
  /** Short axis labels (default: `format`). */
  tick?: (v: number) => string;
  series: { key: string; label: string; colour: string }[];
  height?: number;
  unit?: string;
  max?: number;
  format?: (v: number) => string;
}) {
  const fmt = format ?? ((v: number) => `${formatNumber(v, 2)}${unit}`);
  return (
    <div style={{ height }}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 4, right: 6, left: 0, bottom: 0 }}>
          <CartesianGrid stroke="#1e293b" />
          <XAxis
            dataKey="t"
            type="number"
            domain={["dataMin", "dataMax"]}
            {...AXIS}
            tickFormatter={clockTicks(data)}
          />
          <YAxis {...AXIS} width={72} domain={[0, max ?? "auto"]} tickFormatter={(v: number) => (tick ?? fmt)(v)} />
          <Tooltip
            {...TOOLTIP}
            labelFormatter={(t) => new Date(Number(t) * 1000).toLocaleTimeString()}
            formatter={(v) => fmt(Number(v))}
          />
          {series.map((s) => (
            <Line key={s.key} dataKey={s.key} name={s.label} dot={false} stroke={s.colour} strokeWidth={1.5} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
