/** The values a prompt template filled into one prompt ("topic = cats"), as text chips. */
export function PromptVariables({ variables }: { variables?: Record<string, string> }) {
  const entries = Object.entries(variables ?? {});
  if (!entries.length) return null;
  return (
    <span className="inline-flex flex-wrap gap-1" data-testid="steering-prompt-variables">
      {entries.map(([name, value]) => (
        <span key={name} className="rounded bg-emerald-500/10 px-1.5 py-0.5 font-mono text-[11px] text-emerald-300">
          {name} = {value}
        </span>
      ))}
    </span>
  );
}
