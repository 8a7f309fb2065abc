/** The top-bar badge explains its meters in a tooltip, with and without a GPU. */
import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import type { SystemSample } from "../api/types";
import { useSystemStore } from "../ws/live";
import { SystemBadge } from "./SystemBadge";

const SAMPLE = {
  timestamp: 100,
  cpu: { percent: 12.5, count: 8 },
  memory: { percent: 40, used_bytes: 4 * 2 ** 30, total_bytes: 10 * 2 ** 30 },
  gpus: [{ index: 0, name: "H100", utilization_percent: 90, memory_used_bytes: 20 * 2 ** 30, memory_total_bytes: 80 * 2 ** 30 }],
} as unknown as SystemSample;

describe("system badge", () => {
  it("has a tooltip naming each meter's numbers", () => {
    useSystemStore.getState().push(SAMPLE);
    render(<SystemBadge />);
    const title = screen.getByTestId("system-badge").getAttribute("title") ?? "";
    expect(title).toContain("GPU 0 (H100): 90% busy, VRAM 20.0 GiB of 80.0 GiB");
    expect(title).toContain("CPU: 13% of 8 cores");
    expect(title).toContain("RAM: 4.00 GiB of 10.0 GiB (40%)");
    expect(title).toContain("System panel");
  });

  it("says jobs run on the CPU when there is no GPU", () => {
    useSystemStore.getState().push({ ...SAMPLE, timestamp: 101, gpus: [] } as SystemSample);
    render(<SystemBadge />);
    expect(screen.getByTestId("system-badge").getAttribute("title")).toContain("No GPU found: jobs run on the CPU");
  });
});
