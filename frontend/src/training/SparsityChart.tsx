/**
 * "Sparsity control": how the auto-sparsity controller (issue 15) moved, one small chart per SAE
 * trained with a target L0. L0 on the left (linear) with the target as a dashed line, the
 * coefficient the controller chose on the right (log: it moves over orders of magnitude), so a
 * researcher sees when L0 settled and whether the coefficient was still moving. The header gives
 * the latest L0 against the target; a finished run more than 15% off is flagged in amber, as the
 * trainer keeps such an SAE with a warning rather than failing the run.
 */
import clsx from "clsx";
import { CartesianGrid, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from "recharts";
import { ChartFrame, SERIES_COLOURS, STEP_AXIS, STEP_TOOLTIP, valueAxis } from "../components/charts";
import { formatChange, formatNumber } from "../lib/format";
import type { MetricSeries } from "../lib/metrics";
import {
  controlPoints,
  lastValue,
  type SaeSpec,
  sparsityTargets,
  TARGET_TOLERANCE,
  targetDistance,
  type ControlPoint,
} from "../lib/sparsity";

const [L0_COLOUR, COEFFICIENT_COLOUR] = SERIES_COLOURS;
const TARGET_COLOUR = "#6ee7b7";

/** The sparsity-control charts of a run: nothing when none of its SAEs has a target L0. */
export function SparsityCharts({
  series,
  saes,
  specs,
  finished,
}: {
  series: MetricSeries;
  /** The SAE names in the series (`saeNames`). */
  saes: string[];
  /** `train.saes` of the run's stored config. */
  specs: SaeSpec[];
  /** The run has ended: its last L0 is final. */
  finished: boolean;
}) {
  const targets = sparsityTargets(series, saes, specs);
  if (!targets.length) return null;
  return (
    <div className="mt-3" data-testid="sparsity-charts">
      <div className="mb-1 text-[11px] font-medium text-slate-300">Sparsity control</div>
      <div className="grid gap-2 md:grid-cols-2 xl:grid-cols-3">
        {targets.map(({ sae, target }) => (
          <SparsityChart
            key={sae}
            sae={sae}
            target={target}
            data={controlPoints(series, sae)}
            l0={lastValue(series.l0, sae)}
            finished={finished}
          />
        ))}
      </div>
    </div>
  );
}

/** One SAE: L0 and the coefficient against step, the target L0 as a dashed reference line. */
export function SparsityChart({
  sae,
  target,
  data,
  l0,
  finished,
  height = 140,
}: {
  sae: string;
  target: number;
  data: ControlPoint[];
  /** The latest L0 (null before the first log). */
  l0: number | null;
  finished: boolean;
  height?: number;
}) {
  const distance = l0 === null ? null : targetDistance(l0, target);
  const off = distance !== null && Math.abs(distance) > TARGET_TOLERANCE;
  const targetText = `target ${formatNumber(target)}`;
  return (
    <ChartFrame
      testId="sparsity-chart"
      data-sae={sae}
      height={height}
      empty={data.length === 0}
      header={
        <>
          <span className="min-w-0 truncate font-medium text-slate-300" title={sae}>
            {sae}
          </span>
          <span
            className={clsx(
              "ml-2 shrink-0 font-mono",
              distance === null ? "text-slate-400" : off ? (finished ? "text-amber-300" : "text-slate-400") : "text-emerald-300",
            )}
            data-testid="sparsity-summary"
            data-off-target={finished && off ? "true" : "false"}
          >
            {distance === null ? targetText : `L0 ${formatNumber(l0, 2)} / ${targetText} (${formatChange(distance)})`}
          </span>
        </>
      }
    >
      <LineChart data={data} margin={{ top: 2, right: 0, left: 0, bottom: 0 }}>
        <CartesianGrid stroke="#1e293b" />
        <XAxis {...STEP_AXIS} />
        <YAxis yAxisId="l0" {...valueAxis(false)} stroke={L0_COLOUR} />
        <YAxis yAxisId="coefficient" orientation="right" {...valueAxis(true)} stroke={COEFFICIENT_COLOUR} />
        <Tooltip {...STEP_TOOLTIP} />
        <ReferenceLine
          yAxisId="l0"
          y={target}
          ifOverflow="extendDomain"
          stroke={TARGET_COLOUR}
          strokeDasharray="4 3"
          data-testid="sparsity-target"
          label={{ value: targetText, position: "insideTopLeft", fill: TARGET_COLOUR, fontSize: 10 }}
        />
        <Line yAxisId="l0" dataKey="l0" name="L0" dot={false} stroke={L0_COLOUR} strokeWidth={1.5} isAnimationActive={false} connectNulls />
        <Line
          yAxisId="coefficient"
          dataKey="coefficient"
          name="coefficient"
          dot={false}
          stroke={COEFFICIENT_COLOUR}
          strokeWidth={1.5}
          isAnimationActive={false}
          connectNulls
        />
      </LineChart>
    </ChartFrame>
  );
}
