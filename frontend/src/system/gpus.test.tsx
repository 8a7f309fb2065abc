/**
 * The GPUs of issue 18 points 15 and 9: samples aggregated over GPUs (mean use, hottest card,
 * total power) or per GPU; a card per GPU with power against its limit; the aggregated / per-GPU
 * toggle; the training form's device offering each GPU and defaulting to the freest.
 */
import { useState } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen } from "@testing-library/react";
import type { GpuSample, SystemSample } from "../api/types";
import { freestGpu } from "../lib/gpus";
import { stubResizeObserver } from "../test/layout";
import { DeviceField } from "../training/DeviceField";
import { useSystemStore } from "../ws/live";
import { GpuSection } from "./GpuSection";
import { gpuRow } from "./gpuSeries";

const GIB = 2 ** 30;
const gpu = (index: number, util: number, usedGib: number, temp: number, watts: number) => ({
  index, name: "NVIDIA H100 80GB HBM3", utilization_percent: util, memory_used_bytes: usedGib * GIB, memory_total_bytes: 80 * GIB,
  temperature_c: temp, power_watts: watts, power_limit_watts: 700,
});
const sample = (t: number, gpus: GpuSample[]) =>
  ({ timestamp: t, cpu: { percent: 1, per_core_percent: [1], count: 1 }, memory: { percent: 1 }, disk: {}, io: {}, gpus }) as unknown as SystemSample;

const TWO = sample(10, [gpu(0, 90, 60, 72, 550), gpu(1, 10, 20, 40, 80)]);

beforeEach(() => stubResizeObserver());

describe("GPUs", () => {
  it("aggregates over GPUs or keeps one", () => {
    expect(gpuRow(TWO, "all")).toEqual({ t: 10, util: 50, mem: 50, temp: 72, power: 630 });
    expect(gpuRow(TWO, 1)).toEqual({ t: 10, util: 10, mem: 25, temp: 40, power: 80 });
    const partial = sample(11, [{ index: 0 }]);
    expect(gpuRow(partial, "all")).toEqual({ t: 11, util: null, mem: null, temp: null, power: null });
  });

  it("the freest GPU has the most free memory, then the least use", () => {
    expect(freestGpu(TWO.gpus)).toBe(1);
    expect(freestGpu([gpu(0, 50, 10, 0, 0), gpu(1, 20, 10, 0, 0)])).toBe(1);
    expect(freestGpu([])).toBeNull();
  });

  it("shows a card per GPU and toggles the charts between aggregated and per GPU", () => {
    render(<GpuSection latest={TWO} history={[sample(5, TWO.gpus), TWO]} />);
    expect(screen.getByTestId("gpu-card-0")).toHaveTextContent("550/700 W");
    expect(screen.getByTestId("gpu-card-1")).toHaveTextContent("most free memory");
    expect(screen.getByTestId("gpu-chart-all")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Per GPU" }));
    expect(screen.queryByTestId("gpu-chart-all")).toBeNull();
    expect(screen.getByTestId("gpu-chart-0")).toBeInTheDocument();
    expect(screen.getByTestId("gpu-chart-1")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Aggregated" }));
    expect(screen.getByTestId("gpu-chart-all")).toBeInTheDocument();
  });

  it("says there is no GPU without one, and offers no toggle for one GPU", () => {
    const { rerender } = render(<GpuSection latest={sample(1, [])} history={[]} />);
    expect(screen.getByText(/No NVIDIA GPU visible/)).toBeInTheDocument();
    rerender(<GpuSection latest={sample(1, [gpu(0, 5, 1, 30, 60)])} history={[]} />);
    expect(screen.queryByTestId("gpu-view")).toBeNull();
  });
});

function Form() {
  const [device, setDevice] = useState("cpu");
  return (
    <>
      <DeviceField value={device} onChange={setDevice} />
      <output data-testid="device">{device}</output>
    </>
  );
}

describe("training device", () => {
  it("offers cuda:N per GPU, defaults to the freest and keeps a choice", () => {
    act(() => useSystemStore.setState({ latest: TWO, history: [TWO] }));
    render(<Form />);
    expect(screen.getByTestId("device")).toHaveTextContent("cuda:1");
    const select = screen.getByTestId("train-device") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["cpu", "cuda:0", "cuda:1"]);
    expect(select.options[2].text).toBe("cuda:1 (freest)");
    expect(screen.getByText(/cuda:1: 60\.0 GiB free · 10% busy; the freest of 2 GPUs/)).toBeInTheDocument();
    fireEvent.change(select, { target: { value: "cuda:0" } });
    act(() => useSystemStore.setState({ latest: sample(12, [gpu(0, 90, 70, 70, 500), gpu(1, 5, 1, 35, 70)]) }));
    expect(screen.getByTestId("device")).toHaveTextContent("cuda:0");
  });

  it("offers cpu and cuda with one GPU", () => {
    act(() => useSystemStore.setState({ latest: sample(1, [gpu(0, 5, 1, 30, 60)]) }));
    render(<Form />);
    const select = screen.getByTestId("train-device") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["cpu", "cuda"]);
    expect(screen.getByTestId("device")).toHaveTextContent("cpu");
  });
});

describe("clock ticks", () => {
  it("show seconds over a short span and minutes over a long one", async () => {
    const { clockTicks } = await import("../components/charts");
    const t0 = Date.UTC(2026, 0, 1, 11, 18, 5) / 1000;
    const short = clockTicks([{ t: t0 }, { t: t0 + 90 }])(t0 + 30);
    const long = clockTicks([{ t: t0 }, { t: t0 + 3600 }])(t0 + 30);
    expect(short).toMatch(/\d{2}:\d{2}:\d{2}/);
    expect(long).not.toMatch(/\d{2}:\d{2}:\d{2}/);
  });
});
