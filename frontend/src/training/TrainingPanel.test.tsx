import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { page, renderWithClient, stubApi } from "../test/api";
import { TrainingPanel } from "./TrainingPanel";

const run = (id: number, name: string) => ({
  id, name, status: "completed", config: {}, result: {}, step: 10, total_steps: 10, tokens_seen: 640,
  job_id: null, error: null, created_at: "2026-01-01T00:00:00Z", updated_at: "",
});

describe("training panel", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("deletes the selected runs one by one and lists each failure in one line", async () => {
    const calls = stubApi(({ method, url }) => {
      if (method === "DELETE" && url.endsWith("/trainings/2")) return new Response(JSON.stringify({ detail: "training 2 is busy" }), { status: 409 });
      if (method === "DELETE") return undefined;
      if (url.includes("/trainings?")) return page([run(1, "first"), run(2, "second")]);
      if (url.includes("/metrics")) return [];
      if (url.includes("/saes/architectures")) return [];
      return page([]);
    });
    vi.stubGlobal("confirm", () => true);
    renderWithClient(<TrainingPanel />);
    await waitFor(() => expect(screen.getByLabelText("select training first")).toBeInTheDocument());
    fireEvent.click(screen.getByLabelText("select training first"));
    fireEvent.click(screen.getByLabelText("select training second"));
    fireEvent.click(screen.getByTestId("bulk-delete"));
    await waitFor(() => expect(screen.getByText("training 2 is busy")).toBeInTheDocument());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.url)).toEqual(["/api/v1/trainings/1", "/api/v1/trainings/2"]);
  });
});
