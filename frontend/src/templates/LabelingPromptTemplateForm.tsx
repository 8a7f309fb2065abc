/** A labelling prompt template's form: its fields one by one, over the server's defaults. */
import { useEffect, useState } from "react";
import { LABELING_PROMPT_DEFAULTS, LabelingPromptFields } from "./LabelingPromptFields";

export function LabelingPromptTemplateForm({ initial, onConfig }: { initial: Record<string, unknown>; onConfig: (build: () => Record<string, unknown>) => void }) {
  const [value, setValue] = useState(() => ({ ...LABELING_PROMPT_DEFAULTS, ...initial }));
  useEffect(() => onConfig(() => value), [value]); // eslint-disable-line react-hooks/exhaustive-deps
  return <LabelingPromptFields value={value} onChange={setValue} />;
}
