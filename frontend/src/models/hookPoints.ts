/**
 * Hook point names as the backend spells them (`blocks.{layer}.hook_{kind}`, TransformerLens style):
 * the kinds a form offers and the grouping by layer the layer pickers show.
 */


export const HOOK_KINDS = ["resid_post", "resid_pre", "resid_mid", "attn_out", "mlp_in", "mlp_out"] as const;

/** Hook points grouped by layer: {layer: [kind...]}. */
export function hooksByLayer(hooks: string[]): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const h of hooks) {
    const m = /^blocks\.(\d+)\.hook_(\w+)$/.exec(h);
    if (!m) continue;
    const layer = Number(m[1]);
    map.set(layer, [...(map.get(layer) ?? []), m[2]]);
  }
  return map;
}
