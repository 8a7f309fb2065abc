import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { FeatureDetail } from "./FeatureDetail";

const FEATURE = {
  id: 5,
  extraction_id: 1,
  index: 42,
  label: "the word import",
  category: "Code > Keywords",
  description: "the keyword import",
  frequency: 0.01,
  max_activation: 3.2,
  mean_activation: 1.1,
  interpretability: 0.775,
  interpretability_proxy: 0.4,
  detection_score: 0.85,
  fuzzing_score: 0.7,
  label_method: "local",
  label_model: "smollm2-135m",
  label_confidence: null,
  starred: false,
  top_tokens: null,
};

describe("feature detail", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the label's detection and fuzzing scores and who labelled it", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.includes("/features/5/detail")) return new Response("{}", { status: 404 });
        return new Response(JSON.stringify(FEATURE), { status: 200 });
      }),
    );
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <FeatureDetail featureId={5} onClose={() => {}} />
      </QueryClientProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("detection-score")).toHaveTextContent("0.85"));
    expect(screen.getByTestId("fuzzing-score")).toHaveTextContent("0.7");
    expect(screen.getByTestId("label-source")).toHaveTextContent("labelled by local (smollm2-135m)");
  });
});
