/** Plain prompts, one box each (a steering run's prompts, a steering prompt set). */
import { Button } from "../components/ui";
import { MAX_PROMPTS } from "./promptTemplate";

export function PromptList({ prompts, setPrompts }: { prompts: string[]; setPrompts: (p: string[]) => void }) {
  return (
    <div className="space-y-2">
      {prompts.map((p, i) => (
        <div key={i} className="flex gap-2">
          <textarea
            rows={2}
            className="flex-1"
            value={p}
            aria-label={`prompt ${i + 1}`}
            onChange={(e) => setPrompts(prompts.map((x, j) => (j === i ? e.target.value : x)))}
            data-testid="steering-prompt"
          />
          <Button variant="ghost" onClick={() => setPrompts(prompts.filter((_, j) => j !== i))} disabled={prompts.length === 1} aria-label="remove prompt">
            ✕
          </Button>
        </div>
      ))}
      <Button onClick={() => setPrompts([...prompts, ""])} disabled={prompts.length >= MAX_PROMPTS}>
        + Prompt
      </Button>
    </div>
  );
}
