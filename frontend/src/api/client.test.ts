import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, detailOf } from "./client";

describe("API errors", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("turns the backend's {detail} into the error message", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(JSON.stringify({ detail: "dataset 3 is pending, not imported yet" }), { status: 409 })),
    );
    const err = await api.get("/datasets/3/samples").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe("dataset 3 is pending, not imported yet");
    expect((err as ApiError).status).toBe(409);
  });

  it("reads FastAPI validation lists and non-JSON bodies", () => {
    expect(detailOf({ detail: [{ loc: ["body", "config", "max_length"], msg: "must be >= 2" }] }, 422)).toBe(
      "config.max_length: must be >= 2",
    );
    expect(detailOf("Bad Gateway", 502)).toBe("Bad Gateway");
    expect(detailOf(undefined, 500, "Internal Server Error")).toBe("request failed (500 Internal Server Error)");
  });

  it("says the server is unreachable when fetch itself fails", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(api.get("/health")).rejects.toThrow(/cannot reach the studio server/);
  });
});
