import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { ProgressBar } from "./ProgressBar";

describe("ProgressBar", () => {
  it("shows percentage, ETA and message", () => {
    render(<ProgressBar progress={0.425} eta={187} message="tokenizing" />);
    const bar = screen.getByRole("progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "43");
    expect(screen.getByText(/43%/)).toBeInTheDocument();
    expect(screen.getByTestId("eta")).toHaveTextContent("ETA 3m 07s");
    expect(screen.getByText("tokenizing")).toBeInTheDocument();
  });

  it("clamps out-of-range progress and hides an unknown ETA", () => {
    render(<ProgressBar progress={1.8} eta={null} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(screen.queryByTestId("eta")).toBeNull();
    const fill = screen.getByRole("progressbar").firstElementChild as HTMLElement;
    expect(fill.style.width).toBe("100%");
  });

  it("treats missing progress as zero", () => {
    render(<ProgressBar progress={undefined} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "0");
    expect(screen.getByText("0%")).toBeInTheDocument();
  });
});
