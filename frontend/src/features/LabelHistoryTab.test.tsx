/**
 * The History tab of a latent against a fake `/features/{id}/labels`: the versions newest first
 * with their method, model, template, scores and who set them, the current one marked; two ticked
 * versions compared side by side (differing fields marked, score changes signed); "Make current"
 * posts to the version and hands the updated feature on; the empty history and a failed request.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Feature } from "../api/types";
import { renderWithClient, stubApi } from "../test/api";
import { LabelHistoryTab } from "./LabelHistoryTab";
import type { LabelVersion } from "./labelHistory";

const FEATURE = {
  id: 5,
  extraction_id: 1,
  index: 42,
  label: "my own words",
  label_method: "manual",
  labeled_at: "2026-12-03T10:00:00Z",
} as Feature;

function version(over: Partial<LabelVersion>): LabelVersion {
  return {
    id: 1,
    feature_id: 5,
    label: null,
    category: null,
    description: null,
    status: "labelled",
    confidence: null,
    method: "rules",
    model: null,
    template: null,
    template_hash: null,
    detection_score: null,
    fuzzing_score: null,
    score: null,
    source: "labeling",
    labeling_id: null,
    is_current: false,
    created_at: "2026-12-01T10:00:00Z",
    ...over,
  };
}

const HISTORY: LabelVersion[] = [
  version({ id: 9, label: "my own words", method: "manual", source: "manual", is_current: true, created_at: "2026-12-03T10:00:00Z" }),
  version({
    id: 7,
    label: "Python import statements at the start of a module",
    category: "Code > Keywords",
    method: "local",
    model: "smollm2-135m",
    template: "delphi-default",
    template_hash: "a1b2c3d4e5f6",
    detection_score: 0.9,
    fuzzing_score: 0.7,
    score: 0.8,
    labeling_id: 12,
    created_at: "2026-12-02T10:00:00Z",
  }),
  version({ id: 3, label: "the token 'import'", category: "Code > Keywords", confidence: 0.8, detection_score: 0.75, fuzzing_score: 0.65, score: 0.7, labeling_id: 4 }),
];

describe("label history tab", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists every version newest first with its source, scores and the current one marked", async () => {
    stubApi(() => HISTORY);
    renderWithClient(<LabelHistoryTab feature={FEATURE} />);
    const rows = await screen.findAllByTestId("label-version");
    expect(rows.map((r) => r.getAttribute("data-version-id"))).toEqual(["9", "7", "3"]);
    expect(rows.map((r) => r.getAttribute("data-current"))).toEqual(["true", "false", "false"]);
    expect(within(rows[0]).getByTestId("label-version-current")).toHaveTextContent("current");
    expect(within(rows[0]).queryByTestId("label-version-make-current")).toBeNull();
    expect(rows[0]).toHaveTextContent("hand edit");
    expect(within(rows[1]).getByTestId("label-version-method")).toHaveTextContent("local (smollm2-135m)");
    expect(rows[1]).toHaveTextContent("delphi-default · a1b2c3");
    expect(rows[1]).toHaveTextContent("run #12");
    expect(rows[1]).toHaveTextContent("0.9");
    expect(rows[1]).toHaveTextContent("0.8");
    expect(rows[2]).toHaveTextContent("run #4");
    expect(screen.getByTestId("label-compare-hint")).toHaveTextContent("Tick two versions");
  });

  it("compares two ticked versions side by side, older left, with the score changes", async () => {
    stubApi(() => HISTORY);
    renderWithClient(<LabelHistoryTab feature={FEATURE} />);
    const picks = await screen.findAllByTestId("label-version-pick");
    fireEvent.click(picks[1]); // the local label (newer)
    fireEvent.click(picks[2]); // the rules label (older)
    const compare = await screen.findByTestId("label-compare");
    const row = (field: string) => within(compare).getAllByTestId("compare-row").find((r) => r.getAttribute("data-field") === field)!;
    expect(row("Label")).toHaveAttribute("data-differs", "true");
    const [, older, newer] = row("Label").children;
    expect(older).toHaveTextContent("the token 'import'");
    expect(newer).toHaveTextContent("Python import statements at the start of a module");
    expect(row("Category")).toHaveAttribute("data-differs", "false");
    expect(row("Method")).toHaveTextContent("local (smollm2-135m)");
    expect(within(row("Detection")).getByTestId("compare-delta")).toHaveTextContent("+0.15");
    expect(within(row("Score")).getByTestId("compare-delta")).toHaveTextContent("+0.10");
    // a third tick replaces the oldest pick: still two compared
    fireEvent.click(picks[0]);
    await waitFor(() => expect(within(screen.getByTestId("label-compare")).getAllByText("hand edit").length).toBeGreaterThan(0));
    expect(screen.getAllByTestId("label-version-pick").filter((p) => (p as HTMLInputElement).checked)).toHaveLength(2);
  });

  it("makes an older version current and hands the updated feature on", async () => {
    const updated = { ...FEATURE, label: "the token 'import'", label_method: "rules", labeled_at: "2026-12-04T10:00:00Z" };
    const calls = stubApi((call) => (call.method === "POST" ? updated : HISTORY));
    const onChanged = vi.fn();
    renderWithClient(<LabelHistoryTab feature={FEATURE} onChanged={onChanged} />);
    const rows = await screen.findAllByTestId("label-version");
    fireEvent.click(within(rows[2]).getByTestId("label-version-make-current"));
    await waitFor(() => expect(onChanged).toHaveBeenCalledWith(updated));
    const post = calls.find((c) => c.method === "POST");
    expect(post?.url).toContain("/api/v1/features/5/labels/3/current");
  });

  it("says when there is no label yet, and shows a failed request in one line", async () => {
    stubApi(() => []);
    const { unmount } = renderWithClient(<LabelHistoryTab feature={FEATURE} />);
    expect(await screen.findByText(/No label yet/)).toBeInTheDocument();
    unmount();
    stubApi(() => new Response(JSON.stringify({ detail: "no feature with id 5" }), { status: 404 }));
    renderWithClient(<LabelHistoryTab feature={FEATURE} />);
    expect(await screen.findByText(/no feature with id 5/)).toBeInTheDocument();
  });
});
