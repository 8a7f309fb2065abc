/**
 * While the event socket is down the studio polls: a running job's row and the latest system
 * sample are fetched over HTTP every POLL_MS, the shell says "polling"; when the socket returns the
 * polling stops and events flow again ("live"). A fake socket stands in for the server's.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import { renderWithClient, stubApi, type Call } from "../test/api";
import { JobProgress } from "../components/ProgressBar";
import { POLL_MS, setEventSocket, useSocketState, useSystemFeed, useSystemStore } from "./live";
import { FakeWs } from "../test/socket";
import { EventSocket } from "./socket";

/** A socket whose connections are opened and dropped by the test (reconnects at once). */
function fakeSocket() {
  const made: FakeWs[] = [];
  const socket = new EventSocket("ws://studio/ws", {
    createSocket: () => {
      made.push(new FakeWs(0));
      return made[made.length - 1];
    },
    backoff: () => 10,
    pingMs: 1e9,
  });
  socket.start();
  setEventSocket(socket);
  return { socket, latest: () => made[made.length - 1] };
}

const job = (progress: number) => ({
  id: "j1", kind: "extract", queue: "gpu", status: "running", progress, eta_seconds: null, message: `at ${progress}`,
  config: {}, result: {}, error: null, resumable: false, cancel_requested: false, attempts: 1, heartbeat_at: null, worker: null,
  artifact_kind: "extractions", artifact_id: 9, resources: [], last_seq: 1, created_at: "", started_at: null, finished_at: null,
});

function Shell() {
  useSystemFeed();
  const state = useSocketState();
  return <div data-testid="state">{state === "open" ? "live" : "polling"}</div>;
}

afterEach(() => {
  vi.unstubAllGlobals();
  setEventSocket(null);
});

describe("polling while the socket is down", () => {
  it("polls the job row until the socket returns", async () => {
    const { latest } = fakeSocket();
    let n = 0;
    const calls: Call[] = stubApi(({ url }) => (url.includes("/jobs/j1") ? job(Math.min(0.9, 0.1 * ++n)) : undefined));
    renderWithClient(<JobProgress jobId="j1" />);
    const jobCalls = () => calls.filter((c) => c.url.includes("/jobs/j1")).length;
    await waitFor(() => expect(jobCalls()).toBe(1));
    await waitFor(() => expect(jobCalls()).toBeGreaterThanOrEqual(3), { timeout: 3 * POLL_MS });
    expect(screen.getByText(/at 0\.[3-9]/)).toBeInTheDocument(); // the polled rows reach the bar
    latest().open(); // the socket is back: it re-subscribes and the polling stops
    await waitFor(() => expect(latest().sent.some((s) => s.includes("jobs/j1"))).toBe(true));
    const after = jobCalls();
    await new Promise((r) => setTimeout(r, POLL_MS + 500));
    expect(jobCalls()).toBe(after);
  }, 15_000);

  it("polls system metrics and says which feed is in use", async () => {
    const { latest } = fakeSocket();
    latest().open();
    const calls: Call[] = stubApi(({ url }) =>
      url.includes("/system/metrics") ? { timestamp: 500, cpu: { percent: 7, per_core_percent: [7], count: 1 }, memory: { percent: 1 }, disk: {}, io: {}, gpus: [] } : [],
    );
    render(<Shell />);
    expect(screen.getByTestId("state")).toHaveTextContent("live");
    latest().drop();
    expect(screen.getByTestId("state")).toHaveTextContent("polling");
    await waitFor(() => expect(useSystemStore.getState().latest?.timestamp).toBe(500), { timeout: 2 * POLL_MS });
    await waitFor(() => expect(screen.getByTestId("state")).toHaveTextContent("polling"));
    await waitFor(() => expect(latest().readyState).toBe(0)); // the reconnect attempt
    latest().open();
    expect(screen.getByTestId("state")).toHaveTextContent("live");
    const polled = calls.filter((c) => c.url.includes("/system/metrics")).length;
    await new Promise((r) => setTimeout(r, POLL_MS + 500));
    expect(calls.filter((c) => c.url.includes("/system/metrics")).length).toBe(polled);
  }, 15_000);
});
