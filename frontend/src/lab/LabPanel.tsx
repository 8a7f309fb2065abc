/**
 * The SAE lab page: the compare view (every SAE of a model and hook on one chart) and, at
 * `#/lab/match?a=&b=`, the feature matching view between two SAEs.
 *
 * The matching view lives in `./matching/MatchingView.tsx` (export `MatchingView`, props
 * `{ a: number | null; b: number | null }`); it is picked up when that module exists, so the
 * page builds on its own before it does.
 */
/// <reference types="vite/client" />
import { useEffect, useState, type ComponentType } from "react";
import { Empty, PanelHeader } from "../components/ui";
import { CompareView } from "./CompareView";
import { compareUrl, labRoute } from "./routes";

type MatchingProps = { a: number | null; b: number | null };
const found = import.meta.glob<{ MatchingView?: ComponentType<MatchingProps> }>(
  "./matching/MatchingView.tsx",
  { eager: true },
);
const MatchingView = Object.values(found)[0]?.MatchingView;

const id = (v: string | null) => (v !== null && /^\d+$/.test(v) ? Number(v) : null);

function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

/** The lab page. A new `#/lab/match?a=&b=` (a link, the address bar) remounts the matching view
 * with that pair; the view's own picks only replace the URL, so they keep its state. */
export function LabPanel() {
  const route = labRoute(useHash());
  if (route.view === "match") {
    const a = id(route.params.get("a"));
    const b = id(route.params.get("b"));
    return (
      <div data-testid="lab-match">
        <PanelHeader
          title="Feature matching"
          subtitle={`SAE #${a ?? "?"} against SAE #${b ?? "?"}`}
          actions={
            <a href={compareUrl()} className="text-sm text-emerald-300 hover:underline" data-testid="lab-back">
              ← Compare SAEs
            </a>
          }
        />
        {MatchingView ? <MatchingView key={`${a}-${b}`} a={a} b={b} /> : <Empty>Feature matching is not available in this build.</Empty>}
      </div>
    );
  }
  return <CompareView />;
}
