import { describe, expect, it } from "vitest";
import { SCHEMA_DEFAULTS } from "../api/defaults";
import { DEFAULT_FORM, trainingRequest } from "./trainingForm";

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

describe("trainingRequest over several devices", () => {
  it("sends run.devices, with rank 0's device as train.device, only for more than one rank", () => {
    const cpu = trainingRequest({ ...DEFAULT_FORM, device: "cpu", cpuRanks: 2 }, () => 32, undefined);
    expect(cpu.run?.devices).toEqual(["cpu", "cpu"]);
    expect(cpu.train.device).toBe("cpu");
    const gpus = trainingRequest({ ...DEFAULT_FORM, device: "cuda:1", gpus: ["cuda:0", "cuda:1"] }, () => 32, undefined);
    expect(gpus.run?.devices).toEqual(["cuda:1", "cuda:0"]);
    expect(gpus.train.device).toBe("cuda:1");
    expect(trainingRequest({ ...DEFAULT_FORM, device: "cpu" }, () => 32, undefined).run).not.toHaveProperty("devices");
  });
});
