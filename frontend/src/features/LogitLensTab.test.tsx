/**
 * The logit lens tab: the suppressed tokens' axis starts at 0 so bar lengths compare (not at the
 * smallest logit), and no token label is blank (a space-only token is shown as ␣).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import type { Feature } from "../api/types";
import { renderWithClient } from "../test/api";
import { LogitLensTab } from "./LogitLensTab";
import { stubResizeObserver } from "../test/layout";

const FEATURE = { id: 5, index: 42 } as Feature;
const DETAIL = {
  logit_lens: {
    positive: [[11, 3.0], [12, 2.5], [13, 2.0]],
    positive_text: [" ", "\n", "<0xE2>"],
    negative: [[21, -16.0], [22, -12.0], [23, -8.0]],
    negative_text: ["foo", "bar", "baz"],
  },
};

describe("logit lens tab", () => {
  // jsdom lays nothing out: give recharts' ResponsiveContainer a size at once.
  beforeEach(() => {
    stubResizeObserver();
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(DETAIL), { status: 200 })));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("draws suppressed bars from 0 and labels every token visibly", async () => {
    renderWithClient(<LogitLensTab feature={FEATURE} />);
    const lens = await screen.findByTestId("logit-lens");
    await waitFor(() => expect(within(lens).getAllByTestId("token-bars")).toHaveLength(2));
    const [promoted, suppressed] = within(lens).getAllByTestId("token-bars");
    await waitFor(() => expect(suppressed.querySelectorAll(".recharts-xAxis .recharts-cartesian-axis-tick-value").length).toBeGreaterThan(0));
    const ticks = [...suppressed.querySelectorAll(".recharts-xAxis .recharts-cartesian-axis-tick-value")].map((t) => Number(t.textContent));
    expect(Math.max(...ticks)).toBe(0);
    expect(Math.min(...ticks)).toBeLessThanOrEqual(-16);

    const labels = [...promoted.querySelectorAll(".recharts-yAxis .recharts-cartesian-axis-tick-value")].map((t) => t.textContent ?? "");
    expect(labels).toEqual(["␣", "↵", "<0xE2>"]);
    expect(labels.every((l) => l.trim() !== "")).toBe(true);
  });
});
