/** A steering prompt set's form: the steering panel's prompt editor (plain prompts or a template with values). */
import { useEffect, useState } from "react";
import { type PromptsValue, DEFAULT_STEERING_FORM, promptSetConfig, promptsFrom } from "../steering/formState";
import { PromptEditor } from "../steering/PromptEditor";

export function PromptSetTemplateForm({ initial, onConfig }: { initial: Record<string, unknown>; onConfig: (build: () => Record<string, unknown>) => void }) {
  const [value, setValue] = useState<PromptsValue>(() => promptsFrom(initial) ?? DEFAULT_STEERING_FORM);
  useEffect(() => onConfig(() => promptSetConfig(value)), [value]); // eslint-disable-line react-hooks/exhaustive-deps
  return <PromptEditor value={value} onChange={setValue} sets={false} />;
}
