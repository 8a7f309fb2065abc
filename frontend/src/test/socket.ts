/** A fake WebSocket for panel tests that follow live job events (EventSocket's `createSocket`):
 * `deliver` a server message, `open` / `drop` the connection. */
import { act } from "@testing-library/react";
import type { SocketLike } from "../ws/socket";

export class FakeWs implements SocketLike {
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(public readyState = 1) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {}
  deliver(message: Record<string, unknown>) {
    act(() => this.onmessage?.({ data: JSON.stringify(message) }));
  }
  open() {
    this.readyState = 1;
    act(() => this.onopen?.({}));
  }
  drop() {
    this.readyState = 3;
    act(() => this.onclose?.({}));
  }
}
