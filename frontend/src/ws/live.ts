/**
 * React side of the event socket: the shared connection, job subscriptions that keep the cached
 * `JobOut` live (progress, ETA, status), and the `system` metrics store. While the socket is down
 * (not "open"), both fall back to HTTP polling every POLL_MS (the job row until it ends, the latest
 * system sample); when it returns, the socket re-subscribes from each job's last seen event and the
 * polling stops. The shell shows which one is feeding the page ("live" or "polling").
 */
import { useEffect, useRef, useState } from "react";
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { create } from "zustand";
import { api, apiToken } from "../api/client";
import type { Job, SystemSample } from "../api/types";
import { TERMINAL_STATUSES } from "../lib/status";
import { EventSocket, jobChannel, studioSocketUrl, type SocketState, type WireMessage } from "./socket";

let shared: EventSocket | null = null;

export function events(): EventSocket {
  if (!shared) {
    shared = new EventSocket(studioSocketUrl(window.location), { token: apiToken });
    shared.start();
  }
  return shared;
}

/** Replace the shared socket (tests). */
export function setEventSocket(socket: EventSocket | null): void {
  shared = socket;
}

export function useSocketState(): SocketState {
  const [state, setState] = useState<SocketState>(() => events().state);
  useEffect(() => events().onState(setState), []);
  return state;
}

/** How often job rows and system metrics are fetched over HTTP while the socket is down. */
export const POLL_MS = 2000;


/** Fold one job event into the job row (what the REST answer would say after it). */
export function applyJobEvent(job: Job, message: WireMessage): Job {
  const data = (message.data ?? {}) as Record<string, unknown>;
  const next: Job = { ...job, last_seq: Math.max(job.last_seq, message.seq ?? 0) };
  if (typeof data.progress === "number") next.progress = data.progress;
  if (message.type === "progress") {
    next.eta_seconds = typeof data.eta_seconds === "number" ? data.eta_seconds : null;
    if (typeof data.message === "string") next.message = data.message;
    if (next.status === "queued") next.status = "running";
  }
  if (message.type === "status" && typeof data.status === "string") {
    next.status = data.status;
    if (typeof data.error === "string") next.error = data.error;
    if (data.status === "completed") next.progress = 1;
    if (TERMINAL_STATUSES.has(data.status)) next.eta_seconds = null;
  }
  if (message.type === "cancelling") next.cancel_requested = true;
  return next;
}

/** Query keys of artifact lists a finished job may have changed. */
const ARTIFACT_KEYS = ["datasets", "tokenizations", "models", "activations", "trainings", "saes", "extractions", "features"];

export function invalidateArtifacts(client: QueryClient): void {
  for (const key of ARTIFACT_KEYS) void client.invalidateQueries({ queryKey: [key] });
}

/**
 * Refresh the artifact lists whenever any job ends, not only the jobs this page follows: a
 * training, import or extraction started in another tab or by a script through the API
 * otherwise showed up only when a list went stale. Mounted once by the shell; the server sends
 * every job's events on the `jobs` channel.
 */
export function useArtifactRefresh(): void {
  const client = useQueryClient();
  useEffect(
    () =>
      events().subscribe("jobs", (m) => {
        const status = (m.data as { status?: unknown } | undefined)?.status;
        if (m.type === "status" && typeof status === "string" && TERMINAL_STATUSES.has(status)) invalidateArtifacts(client);
      }),
    [client],
  );
}

/**
 * The job row, kept live over the socket: fetched once, then every event of `jobs/<id>` after
 * its `last_seq` is folded in. `onEvent` sees each event too (e.g. training metrics).
 */
export function useJob(jobId: string | null | undefined, onEvent?: (m: WireMessage) => void) {
  const client = useQueryClient();
  const polling = useSocketState() !== "open";
  const query = useQuery({
    queryKey: ["job", jobId],
    queryFn: ({ signal }) => api.get<Job>(`/jobs/${jobId}`, undefined, signal),
    enabled: !!jobId,
    staleTime: Infinity,
    // While the socket is down, the row is fetched every POLL_MS until the job ends.
    refetchInterval: (q) => (polling && q.state.data && !TERMINAL_STATUSES.has(q.state.data.status) ? POLL_MS : false),
  });
  const status = query.data?.status;
  const seenBusy = useRef(false);
  useEffect(() => {
    if (!status) return;
    if (!TERMINAL_STATUSES.has(status)) seenBusy.current = true;
    else if (seenBusy.current && polling) {
      seenBusy.current = false; // ended while polling: no status event will say so
      invalidateArtifacts(client);
    }
  }, [status, polling, client]);
  const loaded = query.data !== undefined;
  useEffect(() => {
    if (!jobId || !loaded) return;
    const current = client.getQueryData<Job>(["job", jobId]);
    return events().subscribe(
      jobChannel(jobId),
      (message) => {
        client.setQueryData<Job>(["job", jobId], (job) => (job ? applyJobEvent(job, message) : job));
        onEvent?.(message);
        const status = (message.data as { status?: string } | undefined)?.status;
        // The artifact lists: the shell's useArtifactRefresh refetches them on every job's end.
        if (message.type === "status" && status && TERMINAL_STATUSES.has(status)) {
          void client.invalidateQueries({ queryKey: ["job", jobId] });
        }
      },
      current?.last_seq ?? 0,
    );
    // onEvent is intentionally not a dependency: callers pass inline closures.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jobId, loaded, client]);
  return query;
}

/* ---- system metrics ---------------------------------------------------------------------- */

const HOUR = 3600;

interface SystemState {
  latest: SystemSample | null;
  history: SystemSample[];
  push: (s: SystemSample) => void;
  seed: (samples: SystemSample[]) => void;
}

export const useSystemStore = create<SystemState>((set) => ({
  latest: null,
  history: [],
  push: (s) =>
    set((state) => {
      const cutoff = s.timestamp - HOUR;
      const history = state.history.filter((h) => h.timestamp >= cutoff && h.timestamp < s.timestamp);
      history.push(s);
      return { latest: s, history };
    }),
  seed: (samples) =>
    set((state) => {
      const byTime = new Map<number, SystemSample>();
      for (const s of [...samples, ...state.history]) byTime.set(s.timestamp, s);
      const history = [...byTime.values()].sort((a, b) => a.timestamp - b.timestamp);
      return { history, latest: state.latest ?? history[history.length - 1] ?? null };
    }),
}));

/** Subscribe the app to `system` once (mounted by the shell). */
export function useSystemFeed(): void {
  useEffect(() => {
    const { push, seed } = useSystemStore.getState();
    let cancelled = false;
    api
      .get<SystemSample[]>("/system/history", { seconds: HOUR })
      .then((samples) => !cancelled && seed(samples))
      .catch(() => {
        /* the live feed still fills the charts */
      });
    const off = events().subscribe("system", (m) => {
      if (m.type === "metrics" && m.data) push(m.data as unknown as SystemSample);
    });
    // While the socket is down, the latest sample is fetched every POLL_MS instead.
    let timer: ReturnType<typeof setInterval> | null = null;
    const poll = (state: SocketState) => {
      if (state === "open") {
        if (timer) clearInterval(timer);
        timer = null;
      } else if (!timer) {
        timer = setInterval(() => {
          api
            .get<SystemSample>("/system/metrics")
            .then((s) => !cancelled && push(s))
            .catch(() => {
              /* the server is down too: the next tick tries again */
            });
        }, POLL_MS);
      }
    };
    poll(events().state);
    const offState = events().onState(poll);
    return () => {
      cancelled = true;
      off();
      offState();
      if (timer) clearInterval(timer);
    };
  }, []);
}
