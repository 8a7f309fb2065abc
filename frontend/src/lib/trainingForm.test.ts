import { describe, expect, it } from "vitest";
import { SCHEMA_DEFAULTS } from "../api/defaults";
import { DEFAULT_FORM } from "./trainingForm";

describe("DEFAULT_FORM", () => {
  it("starts from the core configs' defaults (generated from the schema)", () => {
    expect(DEFAULT_FORM.evalSequences).toBe(SCHEMA_DEFAULTS.TrainingRunOptions.eval_sequences);
    expect(DEFAULT_FORM.bufferTokens).toBe(SCHEMA_DEFAULTS.TrainingRunOptions.buffer_tokens);
    expect(DEFAULT_FORM.lmBatchSize).toBe(SCHEMA_DEFAULTS.TrainingRunOptions.lm_batch_size);
    expect(DEFAULT_FORM.lr).toBe(SCHEMA_DEFAULTS.SAETrainConfig.lr);
    expect(DEFAULT_FORM.architecture).toBe(SCHEMA_DEFAULTS.SAEConfig.architecture);
  });

  it("agrees with core where the UI used to differ (16 eval sequences, 262,144 buffer tokens)", () => {
    expect(DEFAULT_FORM.evalSequences).toBe(16);
    expect(DEFAULT_FORM.bufferTokens).toBe(262_144);
  });
});
