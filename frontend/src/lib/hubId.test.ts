import { describe, expect, it } from "vitest";
import { hubIdProblem, isHubId, isLocalPath } from "./hubId";

// The same cases as tests/unit/test_hub_ids.py, which checks them against huggingface_hub.
const VALID = ["gpt2", "bert-base-uncased", "wikitext", "HuggingFaceTB/SmolLM2-135M", "org/name", "a", "_private_x", "EleutherAI/pythia-70m-deduped", "x".repeat(96)];
const INVALID = ["", "a/b/c", "has space", "-leading", "trailing-", ".dot", "dot.", "double--dash", "two..dots", "name.git", "x".repeat(97), "/abs/path", "./rel", "~/home", "org/", "/name", "org/na me", "hub:org/name"];

describe("Hub ids", () => {
  it("accepts canonical ids without a namespace and namespace/name", () => {
    for (const id of VALID) expect(isHubId(id), id).toBe(true);
  });
  it("refuses what the Hub refuses, with one line", () => {
    for (const id of INVALID) {
      expect(isHubId(id), id).toBe(false);
      expect(hubIdProblem(id)).not.toContain("\n");
    }
  });
  it("tells local model paths apart", () => {
    expect(isLocalPath("/models/x")).toBe(true);
    expect(isLocalPath("model.gguf")).toBe(true);
    expect(isLocalPath("gpt2")).toBe(false);
  });
});
