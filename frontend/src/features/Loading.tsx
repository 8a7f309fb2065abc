/** The placeholder of a detail tab while its request runs. */


export function Loading() {
  return <div className="h-24 animate-pulse rounded bg-slate-800/60" />;
}
