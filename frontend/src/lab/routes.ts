/**
 * The SAE lab's own routes under the `#/lab` panel hash: the compare view (`#/lab`) and the
 * feature matching view (`#/lab/match?a=<sae id>&b=<sae id>`). Links build their URLs here.
 */
export type LabView = "compare" | "match";

export interface LabRoute {
  view: LabView;
  params: URLSearchParams;
}

/** The lab view and its query parameters from a location hash (`#/lab/match?a=1&b=2`). */
export function labRoute(hash: string): LabRoute {
  const body = hash.replace(/^#\/?/, "");
  const [path, query = ""] = body.split("?", 2);
  const parts = path.split("/");
  const view: LabView = parts[0] === "lab" && parts[1] === "match" ? "match" : "compare";
  return { view, params: new URLSearchParams(query) };
}

/** Where the matching view opens for SAEs `a` and `b`. */
export const matchUrl = (a: number, b: number) => `#/lab/match?a=${a}&b=${b}`;

/** The compare view, optionally scoped to one model and hook. */
export const compareUrl = () => "#/lab";
