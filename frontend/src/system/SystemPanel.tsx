/** The System panel: live CPU / memory / disk / network cards, the GPUs (GpuSection), one-hour charts. */
import { useMemo } from "react";
import { TimeChart } from "../components/charts";
import { ProgressBar } from "../components/ProgressBar";
import { Card, ErrorLine, PanelHeader, Stat } from "../components/ui";
import { formatBytes, formatRate } from "../lib/format";
import { useSystemStore } from "../ws/live";
import { GpuSection } from "./GpuSection";
import { TokenCard } from "./TokenCard";
import { toSeries } from "./series";
import { useSystemInfo } from "./queries";

const pct = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(0)}%`);

export function SystemPanel() {
  const latest = useSystemStore((s) => s.latest);
  const history = useSystemStore((s) => s.history);
  const info = useSystemInfo();
  const series = useMemo(() => toSeries(history), [history]);
  return (
    <div className="space-y-6">
      <PanelHeader
        title="System"
        subtitle={info.data ? `miStudio ${info.data.version} · Python ${info.data.python} · ${info.data.database} database · ${info.data.broker} broker · ${info.data.home}` : "Live machine metrics"}
      />
      <ErrorLine error={info.error} />
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-4" data-testid="system-cards">
        <Card title="CPU">
          <div className="text-2xl font-semibold text-slate-50">{pct(latest?.cpu.percent)}</div>
          <div className="mt-1 text-xs text-slate-500">{latest?.cpu.count ?? "–"} cores</div>
          <div className="mt-2 grid grid-cols-8 gap-0.5">
            {latest?.cpu.per_core_percent.map((c, i) => (
              <div key={i} className="h-6 overflow-hidden rounded-sm bg-slate-800" title={`core ${i}: ${c.toFixed(0)}%`}>
                <div className="w-full bg-emerald-500" style={{ height: `${c}%`, marginTop: `${100 - c}%` }} />
              </div>
            ))}
          </div>
        </Card>
        <Card title="Memory">
          <div className="text-2xl font-semibold text-slate-50">{pct(latest?.memory.percent)}</div>
          <div className="mt-1 text-xs text-slate-500">
            {formatBytes(latest?.memory.used_bytes)} of {formatBytes(latest?.memory.total_bytes)}
          </div>
          <ProgressBar className="mt-2" progress={(latest?.memory.percent ?? 0) / 100} />
          {latest?.memory.swap_total_bytes ? <div className="text-[11px] text-slate-500">swap {formatBytes(latest.memory.swap_used_bytes)} of {formatBytes(latest.memory.swap_total_bytes)}</div> : null}
        </Card>
        <Card title="Disk (studio home)">
          <div className="text-2xl font-semibold text-slate-50">{formatBytes(latest?.disk.free_bytes)} free</div>
          <div className="mt-1 text-xs text-slate-500">
            {formatBytes(latest?.disk.used_bytes)} used of {formatBytes(latest?.disk.total_bytes)}
          </div>
          <div className="mt-2 grid grid-cols-2 gap-2">
            <Stat label="Read" value={formatRate(latest?.io.disk_read_bytes_per_s)} />
            <Stat label="Write" value={formatRate(latest?.io.disk_write_bytes_per_s)} />
          </div>
        </Card>
        <Card title="Network">
          <div className="grid grid-cols-2 gap-2">
            <Stat label="Received" value={formatRate(latest?.io.net_recv_bytes_per_s)} />
            <Stat label="Sent" value={formatRate(latest?.io.net_sent_bytes_per_s)} />
          </div>
        </Card>
      </div>
      <GpuSection latest={latest} history={history} />
      <div className="grid gap-4 xl:grid-cols-2" data-testid="system-charts">
        <Card title="CPU and memory (last hour)">
          <TimeChart data={series} max={100} series={[{ key: "cpu", label: "CPU", colour: "#10b981" }, { key: "mem", label: "memory", colour: "#38bdf8" }]} />
        </Card>
        <Card title="Disk and network (last hour)">
          <TimeChart
            data={series}
            format={(v) => formatRate(v)}
            tick={(v) => formatRate(v).replace("iB/s", "/s").replace(" B/s", "B/s")}
            series={[
              { key: "diskRead", label: "disk read", colour: "#10b981" },
              { key: "diskWrite", label: "disk write", colour: "#f59e0b" },
              { key: "netRecv", label: "net in", colour: "#38bdf8" },
              { key: "netSent", label: "net out", colour: "#f472b6" },
            ]}
          />
        </Card>
      </div>
      <TokenCard />
    </div>
  );
}
