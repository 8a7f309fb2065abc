import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { SystemSample } from "../api/types";
import { useSystemStore } from "../ws/live";
import { useUi } from "../store/ui";
import { toSeries } from "./series";
import { SystemBadge } from "./SystemBadge";

const SAMPLE = {
  timestamp: 100,
  cpu: { percent: 12.5, count: 8 },
  memory: { percent: 40, used_bytes: 4, total_bytes: 10 },
  gpus: [{ index: 0, name: "H100", utilization_percent: 90, memory_used_bytes: 20, memory_total_bytes: 80 }],
  io: { disk_read_bytes_per_s: 1, disk_write_bytes_per_s: 2, net_recv_bytes_per_s: 3, net_sent_bytes_per_s: 4 },
} as unknown as SystemSample;

describe("system", () => {
  it("turns samples into chart rows with the first GPU's use in percent", () => {
    expect(toSeries([SAMPLE])).toEqual([
      { t: 100, cpu: 12.5, mem: 40, gpu: 90, vram: 25, diskRead: 1, diskWrite: 2, netRecv: 3, netSent: 4 },
    ]);
    const noGpu = { ...SAMPLE, gpus: [] } as SystemSample;
    expect(toSeries([noGpu])[0]).toMatchObject({ gpu: null, vram: null });
  });

  it("the top-bar badge shows the live sample and opens the System panel", () => {
    useSystemStore.getState().push(SAMPLE);
    render(<SystemBadge />);
    fireEvent.click(screen.getByRole("button"));
    expect(useUi.getState().panel).toBe("system");
  });
});
