/** An extraction template's form: the Extract dialog's own config fields (features/ExtractionFields). */
import { useEffect, useState } from "react";
import { EXTRACTION_DEFAULTS, ExtractionFields, extractionConfig, withTemplate } from "../features/ExtractionFields";

export function ExtractionTemplateForm({ initial, onConfig }: { initial: Record<string, unknown>; onConfig: (build: () => Record<string, unknown>) => void }) {
  const [values, setValues] = useState(() => withTemplate(EXTRACTION_DEFAULTS, initial));
  // Keys the form does not show (a newer studio's, or typed as JSON) are kept.
  useEffect(() => onConfig(() => ({ ...initial, ...extractionConfig(values) })), [values]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="grid grid-cols-2 gap-3" data-testid="extraction-template-fields">
      <ExtractionFields values={values} onChange={setValues} />
    </div>
  );
}
