/** The shell: sidebar of panels, top bar with the live system badge, and the open panel. */
import clsx from "clsx";
import { useEffect } from "react";
import { PANELS, panelFromHash, useUi, type PanelId } from "./store/ui";
import { SystemBadge } from "./system/SystemBadge";
import { DatasetsPanel } from "./datasets/DatasetsPanel";
import { ModelsPanel } from "./models/ModelsPanel";
import { TrainingPanel } from "./training/TrainingPanel";
import { SaesPanel } from "./saes/SaesPanel";
import { LabPanel } from "./lab/LabPanel";
import { FeaturesPanel } from "./features/FeaturesPanel";
import { TemplatesPanel } from "./templates/TemplatesPanel";
import { SystemPanel } from "./system/SystemPanel";
import { LabelingPanel } from "./labeling/LabelingPanel";
import { SteeringPanel } from "./steering/SteeringPanel";
import { FirstRun } from "./firstrun/FirstRun";
import { useArtifactRefresh, useSocketState, useSystemFeed } from "./ws/live";

const ICONS: Record<PanelId, string> = {
  datasets: "▤",
  models: "◈",
  training: "◔",
  saes: "◇",
  lab: "⚗",
  features: "✦",
  labeling: "✎",
  steering: "⇄",
  templates: "▦",
  system: "◉",
};

function Panel({ id }: { id: PanelId }) {
  switch (id) {
    case "datasets":
      return <DatasetsPanel />;
    case "models":
      return <ModelsPanel />;
    case "training":
      return <TrainingPanel />;
    case "saes":
      return <SaesPanel />;
    case "lab":
      return <LabPanel />;
    case "features":
      return <FeaturesPanel />;
    case "labeling":
      return <LabelingPanel />;
    case "steering":
      return <SteeringPanel />;
    case "templates":
      return <TemplatesPanel />;
    case "system":
      return <SystemPanel />;
  }
}

export function App() {
  const panel = useUi((s) => s.panel);
  const setPanel = useUi((s) => s.setPanel);
  const socket = useSocketState();
  useSystemFeed();
  useArtifactRefresh();
  useEffect(() => {
    const onHash = () => setPanel(panelFromHash(window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, [setPanel]);

  return (
    <div className="flex h-full">
      <nav className="flex w-52 shrink-0 flex-col border-r border-slate-800 bg-slate-900/80" aria-label="Panels">
        <div className="flex items-center gap-2 px-4 py-4">
          <span className="flex h-7 w-7 items-center justify-center rounded-md bg-emerald-600 text-sm font-bold text-white">mi</span>
          <span className="text-base font-semibold tracking-tight text-slate-50">miStudio</span>
        </div>
        <ul className="flex-1 space-y-0.5 px-2">
          {PANELS.map((p) => (
            <li key={p.id}>
              <a
                href={`#/${p.id}`}
                data-testid={`nav-${p.id}`}
                onClick={() => setPanel(p.id)}
                aria-current={panel === p.id ? "page" : undefined}
                className={clsx(
                  "flex items-center gap-2.5 rounded-md px-3 py-2 text-sm",
                  panel === p.id
                    ? "bg-emerald-500/10 font-medium text-emerald-300"
                    : "text-slate-400 hover:bg-slate-800 hover:text-slate-200",
                )}
              >
                <span className="w-4 text-center opacity-80">{ICONS[p.id]}</span>
                {p.label}
              </a>
            </li>
          ))}
        </ul>
        <div
          className="px-4 py-3 text-[11px] text-slate-500"
          data-testid="connection-state"
          data-state={socket === "open" ? "live" : "polling"}
          title={socket === "open" ? "Progress and metrics arrive over the live event socket" : "The event socket is down: progress and metrics are fetched every 2 s until it returns"}
        >
          <span
            className={clsx(
              "mr-1.5 inline-block h-2 w-2 rounded-full",
              socket === "open" ? "bg-emerald-500" : socket === "connecting" ? "bg-amber-500" : "bg-rose-500",
            )}
          />
          {socket === "open" ? "live" : `polling · live events ${socket}`}
        </div>
      </nav>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-12 shrink-0 items-center justify-between border-b border-slate-800 bg-slate-900/60 px-5">
          <div className="text-sm text-slate-400">
            {PANELS.find((p) => p.id === panel)?.label}
          </div>
          <SystemBadge />
        </header>
        <main className="min-h-0 flex-1 overflow-y-auto p-6" data-testid={`panel-${panel}`}>
          <FirstRun />
          <Panel id={panel} />
        </main>
      </div>
    </div>
  );
}
