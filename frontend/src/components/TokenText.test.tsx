import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { displayToken, shade, TokenText } from "./TokenText";

describe("TokenText", () => {
  it("renders dataset text as text, never as HTML", () => {
    const tokens = ["<script>", "alert('x')", "</script>", " <b>bold</b>", " &amp;"];
    const { container } = render(<TokenText tokens={tokens} acts={[0, 1, 0, 2, 0]} />);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("b")).toBeNull();
    const text = screen.getByTestId("token-text").textContent;
    expect(text).toBe("<script>alert('x')</script> <b>bold</b> &amp;");
    // The raw markup is escaped in the DOM.
    expect(container.innerHTML).toContain("&lt;script&gt;");
  });

  it("shades tokens by activation and shows the value on hover", () => {
    render(<TokenText tokens={["a", "b", "c"]} acts={[0, 0.5, 1]} center={2} />);
    const spans = screen.getByTestId("token-text").querySelectorAll("span");
    expect(spans[0].style.backgroundColor).toBe("");
    expect(spans[1].style.backgroundColor).not.toBe("");
    expect(spans[2].getAttribute("title")).toBe('"c": 1');
    expect(spans[2].className).toContain("outline");
  });

  it("maps tokenizer space markers and newlines to visible characters", () => {
    expect(displayToken("Ġthe")).toBe(" the");
    expect(displayToken("▁def")).toBe(" def");
    expect(displayToken("Ċ")).toBe("↵");
    expect(shade(0, 1)).toBeUndefined();
    expect(shade(2, 2)).toBe("rgba(16, 185, 129, 0.900)");
  });

  it("keeps a compact example on one line (a table cell), wrapping only the full view", () => {
    const { rerender } = render(<TokenText tokens={["a", " b"]} compact />);
    const compact = screen.getByTestId("token-text").className.split(" ");
    expect(compact).toContain("whitespace-pre");
    expect(compact).not.toContain("whitespace-pre-wrap");
    rerender(<TokenText tokens={["a", " b"]} />);
    expect(screen.getByTestId("token-text").className.split(" ")).toContain("whitespace-pre-wrap");
  });
});
