/**
 * Loading a template into a form counts one use, and the Templates panel shows the new count at
 * once (it used to keep "used 0×" until the panel was opened again).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { useUi } from "../store/ui";
import { page, renderWithClient, stubApi } from "../test/api";
import { ExtractionDialog } from "../features/ExtractionDialog";
import { TemplatesPanel } from "./TemplatesPanel";

describe("template use count", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    useUi.setState({ pendingTemplate: null });
  });

  it("updates the panel's count when a form loads the template", async () => {
    let used = 0;
    const calls = stubApi(({ method, url }) => {
      if (method === "POST" && url.endsWith("/templates/4/use")) {
        used += 1;
        return {};
      }
      if (url.includes("/templates")) {
        return page([{ id: 4, kind: "extraction", name: "quick", description: null, favourite: false, usage_count: used, config: { n_tokens: 5000 }, created_at: "2026-01-01T00:00:00Z", updated_at: "" }]);
      }
      return page([]);
    });
    renderWithClient(
      <>
        <TemplatesPanel />
        <ExtractionDialog saeId={null} onClose={() => {}} />
      </>,
    );
    await waitFor(() => expect(screen.getByTestId("usage-count")).toHaveTextContent("used 0×"));
    fireEvent.click(screen.getByTestId("template-load"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/templates/4/use"))).toBe(true));
    await waitFor(() => expect(screen.getByTestId("usage-count")).toHaveTextContent("used 1×"));
  });
});
