/**
 * The compare scatter: one marker per SAE (shape = architecture, colour = width), bootstrap error
 * bars on both axes, the Pareto front as a dashed line; clicking a marker picks that SAE.
 */
import { CartesianGrid, Cell, ErrorBar, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { AXIS, SERIES_COLOURS, TOOLTIP } from "../components/charts";
import { formatNumber } from "../lib/format";
import { axis, axisDomain, colourFor, logTicks, shapeFor, type ChartPoint } from "./compare";

interface Props {
  points: ChartPoint[];
  xKey: string;
  yKey: string;
  logX: boolean;
  logY: boolean;
  picked: number[];
  onPick: (id: number) => void;
}

const NoMarker = () => <g />;

export function CompareChart({ points, xKey, yKey, logX, logY, picked, onPick }: Props) {
  const archs = [...new Set(points.map((p) => p.architecture))].sort();
  const widths = points.map((p) => p.width);
  const front = points.filter((p) => p.onFront).sort((a, b) => a.x - b.x);
  const xDomain = axisDomain(points, "x", logX);
  const yDomain = axisDomain(points, "y", logY);
  return (
    <div style={{ height: 380 }} data-testid="lab-chart" data-points={points.length} data-front={front.length}>
      <ResponsiveContainer width="100%" height="100%">
        <ScatterChart margin={{ top: 10, right: 20, bottom: 28, left: 10 }}>
          <CartesianGrid stroke="#1e293b" />
          <XAxis
            {...AXIS}
            type="number"
            dataKey="x"
            name={axis(xKey).label}
            scale={logX ? "log" : "linear"}
            domain={xDomain}
            allowDataOverflow
            ticks={logX ? logTicks(xDomain) : undefined}
            tickFormatter={(v: number) => formatNumber(v)}
            label={{ value: `${axis(xKey).label}${logX ? " (log)" : ""}`, position: "insideBottom", offset: -16, fill: "#94a3b8", fontSize: 11 }}
          />
          <YAxis
            {...AXIS}
            type="number"
            dataKey="y"
            name={axis(yKey).label}
            scale={logY ? "log" : "linear"}
            domain={yDomain}
            allowDataOverflow
            ticks={logY ? logTicks(yDomain) : undefined}
            width={64}
            tickFormatter={(v: number) => formatNumber(v)}
            label={{ value: `${axis(yKey).label}${logY ? " (log)" : ""}`, angle: -90, position: "insideLeft", fill: "#94a3b8", fontSize: 11 }}
          />
          <Tooltip
            {...TOOLTIP}
            cursor={{ strokeDasharray: "3 3" }}
            content={({ payload }) => {
              const p = payload?.[0]?.payload as ChartPoint | undefined;
              if (!p || p.id === undefined) return null;
              return (
                <div className="rounded border border-slate-700 bg-slate-900 px-2 py-1 text-xs text-slate-200">
                  <div className="font-medium">{p.name}</div>
                  <div className="text-slate-400">
                    {p.architecture} · {p.width?.toLocaleString() ?? "?"} latents
                  </div>
                  <div>
                    {axis(xKey).label} {formatNumber(p.x)} · {axis(yKey).label} {formatNumber(p.y)}
                  </div>
                </div>
              );
            }}
          />
          <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 11, color: "#94a3b8" }} />
          <Scatter
            name="Pareto front"
            data={front}
            line={{ stroke: "#e2e8f0", strokeDasharray: "5 4", strokeWidth: 1.5 }}
            shape={NoMarker}
            legendType="line"
            isAnimationActive={false}
          />
          {archs.map((arch) => (
            <Scatter
              key={arch}
              name={arch}
              data={points.filter((p) => p.architecture === arch)}
              shape={shapeFor(archs, arch)}
              legendType={shapeFor(archs, arch)}
              fill="#94a3b8"
              isAnimationActive={false}
              onClick={(d: { payload?: ChartPoint }) => d.payload && onPick(d.payload.id)}
              cursor="pointer"
            >
              <ErrorBar dataKey="yErr" direction="y" width={4} stroke="#64748b" />
              <ErrorBar dataKey="xErr" direction="x" width={4} stroke="#64748b" />
              {points
                .filter((p) => p.architecture === arch)
                .map((p) => (
                  <Cell
                    key={p.id}
                    fill={colourFor(widths, p.width, SERIES_COLOURS)}
                    stroke={picked.includes(p.id) ? "#f8fafc" : "none"}
                    strokeWidth={picked.includes(p.id) ? 2 : 0}
                  />
                ))}
            </Scatter>
          ))}
        </ScatterChart>
      </ResponsiveContainer>
    </div>
  );
}
