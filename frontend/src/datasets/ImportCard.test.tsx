import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithClient, stubApi } from "../test/api";
import { ImportCard } from "./ImportCard";
import { PAGE, Pager } from "./Pager";

describe("dataset import", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends a Hub token once and clears it when the import is accepted", async () => {
    const calls = stubApi(({ method, url }) => {
      if (method === "POST") return { id: 1 };
      if (url.includes("/datasets/sources")) return [{ name: "python-stdlib", description: "" }];
      return undefined;
    });
    renderWithClient(<ImportCard />);
    fireEvent.click(screen.getByText("HuggingFace Hub"));
    fireEvent.change(screen.getByPlaceholderText("stanfordnlp/imdb"), { target: { value: "org/gated" } });
    const token = screen.getByTestId("hub-token") as HTMLInputElement;
    expect(token.type).toBe("password");
    fireEvent.change(token, { target: { value: "hf_secret" } });
    fireEvent.click(screen.getByTestId("import-submit"));
    await waitFor(() => expect(token.value).toBe(""));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url).toBe("/api/v1/datasets");
    expect(post.body).toMatchObject({ source: { kind: "hub", repo_id: "org/gated", token: "hf_secret", split: "train" } });
  });

  it("pages with the page count from the total", () => {
    const setPage = vi.fn();
    renderWithClient(<Pager page={1} setPage={setPage} hasNext={false} total={PAGE * 2 + 1} />);
    expect(screen.getByTestId("page")).toHaveTextContent("page 2 of 3");
    expect(screen.getByText("Next ›").closest("button")).toBeDisabled();
    fireEvent.click(screen.getByText("‹ Prev"));
    expect(setPage).toHaveBeenCalledWith(0);
  });
});
