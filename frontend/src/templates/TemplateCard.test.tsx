import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import type { Template } from "../api/types";
import { useUi } from "../store/ui";
import { renderWithClient, stubApi } from "../test/api";
import { TemplateCard } from "./TemplateCard";

const TEMPLATE = {
  id: 4, kind: "extraction", name: "quick", description: null, favourite: false, usage_count: 2,
  config: { n_tokens: 5000 }, created_at: "2026-01-01T00:00:00Z", updated_at: "",
} as unknown as Template;

describe("template card", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("loads the template into its panel's form and opens that panel", () => {
    stubApi(() => ({}));
    renderWithClient(<TemplateCard template={TEMPLATE} />);
    fireEvent.click(screen.getByTestId("template-load"));
    expect(useUi.getState().pendingTemplate).toEqual({ kind: "extraction", id: 4, config: { n_tokens: 5000 } });
    expect(useUi.getState().panel).toBe("features");
  });

  it("favourites by id", async () => {
    const calls = stubApi(() => TEMPLATE);
    renderWithClient(<TemplateCard template={TEMPLATE} />);
    fireEvent.click(screen.getByLabelText("favourite"));
    await waitFor(() => expect(calls.map((c) => `${c.method} ${c.url}`)).toContain("POST /api/v1/templates/4/favourite"));
  });
});
