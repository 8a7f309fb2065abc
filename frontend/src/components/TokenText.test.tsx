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

  it("shows words, shaded by their largest token, with each piece's activation on hover", () => {
    // "▁un" "believ" "able" "," and two byte tokens of 'é' that decode alone to '�'.
    const tokens = [" un", "believ", "able", ",", " caf", "\ufffd", "\ufffd"];
    const acts = [0, 2, 0.5, 0, 0, 1, 0];
    const words = [
      { start: 0, end: 3, text: " unbelievable" },
      { start: 3, end: 4, text: "," },
      { start: 4, end: 7, text: " café" },
    ];
    const { rerender } = render(<TokenText tokens={tokens} acts={acts} words={words} center={1} />);
    const view = screen.getByTestId("token-text");
    expect(view.dataset.view).toBe("words");
    expect(view.textContent).toBe(" unbelievable, café");
    expect(view.textContent).not.toContain("\ufffd");
    const spans = view.querySelectorAll("span");
    expect(spans).toHaveLength(3);
    expect(spans[0].dataset.act).toBe("2");
    expect(spans[0].getAttribute("title")).toBe('" un" 0 · "believ" 2 · "able" 0.5');
    expect(spans[0].className).toContain("outline"); // the word holding the centre token
    expect(spans[1].getAttribute("title")).toBeNull(); // one silent token: nothing to say
    // Raw tokens: the pieces again, one span each.
    rerender(<TokenText tokens={tokens} acts={acts} words={words} center={1} raw />);
    expect(screen.getByTestId("token-text").dataset.view).toBe("tokens");
    expect(screen.getByTestId("token-text").querySelectorAll("span")).toHaveLength(7);
  });
});
