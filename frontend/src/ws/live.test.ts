import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { applyJobEvent } from "./live";

const job: Job = {
  id: "abc",
  kind: "train",
  queue: "gpu",
  status: "queued",
  progress: 0,
  eta_seconds: null,
  message: null,
  config: {},
  result: {},
  error: null,
  resumable: false,
  cancel_requested: false,
  attempts: 1,
  heartbeat_at: null,
  worker: null,
  artifact_kind: "trainings",
  artifact_id: 1,
  resources: [],
  last_seq: 1,
  created_at: "2026-01-01T00:00:00",
  started_at: null,
  finished_at: null,
};

describe("applyJobEvent", () => {
  it("moves progress, ETA and message from progress events", () => {
    const next = applyJobEvent(job, {
      type: "progress",
      seq: 2,
      job_id: "abc",
      data: { progress: 0.25, eta_seconds: 90, message: "training" },
    });
    expect(next).toMatchObject({ status: "running", progress: 0.25, eta_seconds: 90, message: "training", last_seq: 2 });
    expect(job.progress).toBe(0); // not mutated
  });

  it("ends with the status event: completed fills the bar, failed keeps the error", () => {
    const done = applyJobEvent({ ...job, status: "running", progress: 0.9, eta_seconds: 3 }, { type: "status", seq: 9, data: { status: "completed" } });
    expect(done).toMatchObject({ status: "completed", progress: 1, eta_seconds: null });
    const failed = applyJobEvent(job, { type: "status", seq: 3, data: { status: "failed", error: "out of memory" } });
    expect(failed).toMatchObject({ status: "failed", error: "out of memory" });
    expect(applyJobEvent(job, { type: "cancelling", seq: 4, data: { status: "running" } }).cancel_requested).toBe(true);
  });
});
