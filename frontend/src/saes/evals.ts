/** The evaluation columns of the SAEs table: where each metric sits in an SAE's stored evals. */
export type Json = Record<string, unknown>;

export const at = (obj: unknown, ...path: string[]): number | undefined => {
  let cur: unknown = obj;
  for (const key of path) cur = cur && typeof cur === "object" ? (cur as Json)[key] : undefined;
  return typeof cur === "number" ? cur : undefined;
};

/** Columns read from `sae.metrics` ({final, evals: {held_out, splice}, reached_l0} for trained SAEs). */
export const EVALS: { label: string; title: string; read: (m: Json) => number | undefined; percent?: boolean }[] = [
  { label: "L0", title: "L0 over the final evaluation window", read: (m) => at(m, "reached_l0") ?? at(m, "l0") },
  { label: "FVU", title: "Fraction of variance unexplained (held-out)", read: (m) => at(m, "evals", "held_out", "fvu") ?? at(m, "final", "fvu") ?? at(m, "fvu") },
  { label: "Expl. var.", title: "Explained variance (held-out)", read: (m) => at(m, "evals", "held_out", "explained_variance") ?? at(m, "final", "explained_variance") },
  { label: "Dead", title: "Dead latents (fraction)", read: (m) => at(m, "final", "dead_fraction") ?? at(m, "evals", "held_out", "dead_fraction"), percent: true },
  { label: "CE score", title: "CE loss recovered with the SAE spliced in (1 = perfect)", read: (m) => at(m, "evals", "splice", "ce_loss_score") },
  { label: "ΔCE", title: "CE with the SAE minus clean CE", read: (m) => {
    const sae = at(m, "evals", "splice", "ce_sae");
    const clean = at(m, "evals", "splice", "ce_clean");
    return sae !== undefined && clean !== undefined ? sae - clean : undefined;
  } },
  { label: "KL", title: "Mean KL(clean || with SAE) per token", read: (m) => at(m, "evals", "splice", "kl_sae") },
];
