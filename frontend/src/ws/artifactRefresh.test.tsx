/**
 * Artifact lists follow every job's end, not only the jobs a page watches: a job finished in
 * another tab (its events reach this page on the `jobs` channel) refetches the lists; a progress
 * event does not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import { useQuery } from "@tanstack/react-query";
import { renderWithClient } from "../test/api";
import { FakeWs } from "../test/socket";
import { setEventSocket, useArtifactRefresh } from "./live";
import { EventSocket } from "./socket";

let fetches = 0;

function Shell() {
  useArtifactRefresh();
  const saes = useQuery({ queryKey: ["saes"], queryFn: async () => ++fetches, staleTime: Infinity });
  return <div data-testid="fetches">{saes.data ?? 0}</div>;
}

afterEach(() => setEventSocket(null));

describe("artifact lists", () => {
  it("refetch when any job ends, not on its progress", async () => {
    const ws = new FakeWs();
    const socket = new EventSocket("ws://studio/ws", { createSocket: () => ws, pingMs: 1e9 });
    socket.start();
    ws.open();
    setEventSocket(socket);
    fetches = 0;
    renderWithClient(<Shell />);
    await waitFor(() => expect(screen.getByTestId("fetches").textContent).toBe("1"));
    expect(ws.sent.some((s) => s.includes('"channel":"jobs"'))).toBe(true);
    const event = { channel: "jobs/other-tab", job_id: "other-tab", seq: 3 };
    ws.deliver({ ...event, type: "progress", data: { progress: 0.5 } });
    ws.deliver({ ...event, seq: 4, type: "status", data: { status: "running" } });
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.getByTestId("fetches").textContent).toBe("1");
    ws.deliver({ ...event, seq: 5, type: "status", data: { status: "completed" } });
    await waitFor(() => expect(screen.getByTestId("fetches").textContent).toBe("2"));
  });
});
