import { describe, expect, it } from "vitest";
import { SCHEMA_DEFAULTS } from "../api/defaults";
import { DEFAULT_FORM, extraParameters, parseParameter, saeSpecs, trainingRequest } from "./trainingForm";

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

describe("architecture parameters beyond k", () => {
  const matryoshka = {
    name: "matryoshka_batchtopk",
    sparsity_control: "k" as const,
    reconstructs_other_hook: false,
    parameters: [
      { name: "k", default: null, doc: "k", is_list: false },
      { name: "matryoshka_widths", default: null, doc: "the nested prefix widths", is_list: true },
    ],
  };
  it("lists them with their docs and sends what was typed, parsed by kind", () => {
    expect(extraParameters(matryoshka)).toEqual([{ name: "matryoshka_widths", doc: "the nested prefix widths", isList: true }]);
    const form = { ...DEFAULT_FORM, architecture: matryoshka.name, archParams: { matryoshka_widths: "[32, 128" + ", 512]" } };
    const [spec] = saeSpecs(form, () => 64, matryoshka);
    expect(spec.sae).toMatchObject({ k: 32, matryoshka_widths: [32, 128, 512] });
    const one = saeSpecs({ ...form, archParams: { matryoshka_widths: "64" } }, () => 64, matryoshka)[0];
    expect(one.sae.matryoshka_widths).toEqual([64]);
    const empty = saeSpecs({ ...form, archParams: { matryoshka_widths: " " } }, () => 64, matryoshka)[0];
    expect("matryoshka_widths" in empty.sae).toBe(false);
  });
  it("parses a single value and refuses text", () => {
    expect(parseParameter("0.5", false)).toBe(0.5);
    expect(parseParameter("1, 2", false)).toBeUndefined();
    expect(parseParameter("a, 2", true)).toBeUndefined();
  });
});
