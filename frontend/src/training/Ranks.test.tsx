/**
 * Issue 20: a training over several devices. The form's ranks control (CPU ranks on the CPU, a
 * box per GPU with several GPUs) becomes `run.devices` in the request; the training card names
 * the devices the job holds ("2 CPU ranks", "cuda:0, cuda:1"), else the ones its config asks for.
 */
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { GpuSample, SystemSample, Training } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { DEFAULT_FORM, devicesText, plannedDevices, rankDevices, type TrainingForm } from "../lib/trainingForm";
import { useSystemStore } from "../ws/live";
import { RanksField } from "./RanksField";
import { TrainingCard } from "./TrainingCard";

const GIB = 2 ** 30;
const gpu = (index: number) => ({ index, name: "NVIDIA H100", utilization_percent: 5, memory_used_bytes: GIB, memory_total_bytes: 80 * GIB }) as GpuSample;
const sample = (gpus: GpuSample[]) =>
  ({ timestamp: 1, cpu: { percent: 1, per_core_percent: [1, 1], count: 2 }, memory: { percent: 1 }, disk: {}, io: {}, gpus }) as unknown as SystemSample;

function Form({ start }: { start: Partial<TrainingForm> }) {
  const [form, setForm] = useState<TrainingForm>({ ...DEFAULT_FORM, ...start });
  return (
    <>
      <RanksField form={form} onChange={(next) => setForm((f) => ({ ...f, ...next }))} />
      <output data-testid="devices">{JSON.stringify(rankDevices(form))}</output>
    </>
  );
}

describe("ranks of a training", () => {
  afterEach(() => act(() => useSystemStore.setState({ latest: null, history: [] })));

  it("turns CPU ranks into run.devices and says when the batch does not split", () => {
    act(() => useSystemStore.setState({ latest: sample([]), history: [] }));
    render(<Form start={{ device: "cpu", batchTokens: 1000 }} />);
    expect(screen.getByTestId("devices")).toHaveTextContent("null");
    expect(screen.getByText("2 cores shared by the ranks")).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("train-ranks"), { target: { value: "2" } });
    expect(screen.getByTestId("devices")).toHaveTextContent('["cpu","cpu"]');
    fireEvent.change(screen.getByTestId("train-ranks"), { target: { value: "3" } });
    expect(screen.getByText("batch (1000) must split evenly over 3 ranks")).toBeInTheDocument();
  });

  it("offers a box per GPU, the device as rank 0 and the others in index order", () => {
    act(() => useSystemStore.setState({ latest: sample([gpu(0), gpu(1), gpu(2)]), history: [] }));
    render(<Form start={{ device: "cuda:1" }} />);
    expect(screen.getByTestId("train-gpu-1")).toBeChecked();
    expect(screen.getByTestId("train-gpu-1")).toBeDisabled();
    expect(screen.getByTestId("devices")).toHaveTextContent("null");
    fireEvent.click(screen.getByTestId("train-gpu-2"));
    fireEvent.click(screen.getByTestId("train-gpu-0"));
    expect(screen.getByTestId("devices")).toHaveTextContent('["cuda:1","cuda:0","cuda:2"]');
    expect(screen.getByText("GPUs (3 ranks)")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("train-gpu-0"));
    expect(screen.getByTestId("devices")).toHaveTextContent('["cuda:1","cuda:2"]');
  });

  it("shows nothing to choose with one GPU on a GPU device", () => {
    act(() => useSystemStore.setState({ latest: sample([gpu(0)]), history: [] }));
    render(<Form start={{ device: "cuda" }} />);
    expect(screen.queryByTestId("train-gpus")).toBeNull();
    expect(screen.queryByTestId("train-ranks")).toBeNull();
  });

  it("reads devices as the job card shows them", () => {
    expect(devicesText(["cpu", "cpu"])).toBe("2 CPU ranks");
    expect(devicesText(["cuda:0", "cuda:1"])).toBe("cuda:0, cuda:1");
    expect(devicesText(["cpu"])).toBe("cpu");
    expect(plannedDevices({ train: { device: "cuda:2" }, run: { nproc: 2 } })).toEqual(["cuda:2", "cuda:3"]);
    expect(plannedDevices({ train: { device: "cpu" }, run: { nproc: 3 } })).toEqual(["cpu", "cpu", "cpu"]);
    expect(plannedDevices({ train: {}, run: { devices: ["cuda:1", "cuda:0"], nproc: 2 } })).toEqual(["cuda:1", "cuda:0"]);
  });
});

const training = (over: Record<string, unknown>) =>
  ({
    id: 7, name: "ranked", status: "running", step: 0, total_steps: 8, tokens_seen: 0, job_id: "j-7", error: null, result: {},
    config: { train: { device: "cpu", saes: [] }, run: { nproc: 2, devices: ["cpu", "cpu"] } },
    created_at: "2026-01-01T00:00:00Z", updated_at: "", ...over,
  }) as unknown as Training;

describe("training card devices", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("names the devices the job holds", async () => {
    stubApi(({ url }) => (url.includes("/jobs/") ? { id: "j-7", status: "running", progress: 0.2, devices: ["cuda:0", "cuda:1"] } : url.includes("/metrics") ? [] : undefined));
    renderWithClient(<TrainingCard training={training({})} selected={false} onSelect={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("training-devices")).toHaveTextContent("cuda:0, cuda:1"));
    expect(screen.getByTestId("training-devices")).toHaveAttribute("title", "devices the job holds (one per rank)");
  });

  it("names the ranks a queued job asks for before it holds them", async () => {
    stubApi(({ url }) => (url.includes("/jobs/") ? { id: "j-7", status: "queued", progress: 0, devices: [] } : url.includes("/metrics") ? [] : undefined));
    renderWithClient(<TrainingCard training={training({ status: "queued" })} selected={false} onSelect={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("job-progress")).toBeInTheDocument());
    expect(screen.getByTestId("training-devices")).toHaveTextContent("2 CPU ranks");
    expect(screen.getByTestId("training-devices")).toHaveAttribute("title", "devices the run asks for (one per rank)");
  });
});
