import { describe, expect, it } from "vitest";
import { EventSocket, studioSocketUrl, type SocketLike, type WireMessage } from "./socket";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  // Test helpers: what the server / network does.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
  push(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

function harness(token: () => string | null = () => null) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let nextId = 1;
  const client = new EventSocket("ws://studio/api/v1/ws", {
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ fn, ms, id });
      return id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    pingMs: 1e9,
    token,
  });
  /** Run the earliest pending timer with delay < 1e9 (the reconnect). */
  const runReconnect = () => {
    const i = timers.findIndex((t) => t.ms < 1e9);
    expect(i).toBeGreaterThanOrEqual(0);
    const [t] = timers.splice(i, 1);
    t.fn();
    return t.ms;
  };
  return { client, sockets, timers, runReconnect, last: () => sockets[sockets.length - 1] };
}

const ev = (seq: number, type = "progress", data: object = { progress: seq / 10 }) => ({
  channel: "jobs/abc",
  job_id: "abc",
  seq,
  type,
  data,
});

describe("EventSocket", () => {
  it("subscribes with the known last seq once the socket opens", () => {
    const h = harness();
    const got: WireMessage[] = [];
    h.client.subscribe("jobs/abc", (m) => got.push(m), 4);
    h.client.subscribe("system", () => {});
    h.client.start();
    expect(h.sockets).toHaveLength(1);
    expect(h.last().sent).toEqual([]); // nothing is sent before open
    h.last().open();
    expect(h.last().sent).toEqual([
      { action: "subscribe", channel: "jobs/abc", after: 4 },
      { action: "subscribe", channel: "system" },
    ]);
  });

  it("reconnects with back-off and catches up from the last delivered seq", () => {
    const h = harness();
    const got: number[] = [];
    h.client.subscribe("jobs/abc", (m) => got.push(m.seq!), 0);
    h.client.start();
    h.last().open();
    h.last().push(ev(1));
    h.last().push(ev(2));
    h.last().push(ev(3));
    expect(h.client.state).toBe("open");

    h.last().drop();
    expect(h.client.state).toBe("closed");
    const first = h.runReconnect();
    expect(h.sockets).toHaveLength(2);
    // A second failure before opening backs off further.
    h.last().drop();
    const second = h.runReconnect();
    expect(second).toBeGreaterThan(first);
    expect(h.sockets).toHaveLength(3);

    h.last().open();
    expect(h.last().sent).toContainEqual({ action: "subscribe", channel: "jobs/abc", after: 3 });
    // The server replays from 4; a duplicate of 3 (e.g. overlap) is dropped.
    h.last().push(ev(3));
    h.last().push(ev(4));
    h.last().push(ev(5, "status", { status: "completed" }));
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(h.client.seqOf("jobs/abc")).toBe(5);

    // Back-off resets after a successful open.
    h.last().drop();
    expect(h.runReconnect()).toBe(first);
  });

  it("delivers system samples and job events to the all-jobs channel", () => {
    const h = harness();
    const system: WireMessage[] = [];
    const all: WireMessage[] = [];
    h.client.subscribe("system", (m) => system.push(m));
    h.client.subscribe("jobs", (m) => all.push(m));
    h.client.start();
    h.last().open();
    h.last().push({ channel: "system", type: "metrics", data: { cpu: { percent: 12 } } });
    h.last().push({ ...ev(7), job_id: "other", channel: "jobs/other" });
    h.last().push({ type: "pong" });
    expect(system).toHaveLength(1);
    expect(all.map((m) => m.job_id)).toEqual(["other"]);
  });

  it("records last_seq from the subscribed reply and unsubscribes the last listener", () => {
    const h = harness();
    h.client.start();
    h.last().open();
    const off = h.client.subscribe("jobs/abc", () => {});
    expect(h.last().sent).toContainEqual({ action: "subscribe", channel: "jobs/abc", after: 0 });
    h.last().push({ type: "subscribed", channel: "jobs/abc", last_seq: 9 });
    expect(h.client.seqOf("jobs/abc")).toBe(9);
    off();
    expect(h.last().sent).toContainEqual({ action: "unsubscribe", channel: "jobs/abc" });
  });

  it("stops reconnecting after stop()", () => {
    const h = harness();
    h.client.start();
    h.last().open();
    h.client.stop();
    expect(h.sockets[0].closed).toBe(true);
    expect(h.timers.filter((t) => t.ms < 1e9)).toHaveLength(0);
    expect(h.client.state).toBe("closed");
  });

  it("authenticates with the first message, never in the URL, reading the token per connect", () => {
    let token: string | null = "s3cret";
    const h = harness(() => token);
    h.client.subscribe("system", () => {});
    h.client.start();
    h.last().open();
    expect(h.last().url).toBe("ws://studio/api/v1/ws");
    expect(h.last().sent).toEqual([
      { action: "auth", token: "s3cret" },
      { action: "subscribe", channel: "system" },
    ]);
    h.last().push({ type: "authenticated" });
    // A token changed in the System panel is used on the next connection.
    token = "n3w";
    h.last().drop();
    h.runReconnect();
    h.last().open();
    expect(h.last().sent[0]).toEqual({ action: "auth", token: "n3w" });
    expect(h.sockets.every((s) => !s.url.includes("token"))).toBe(true);
  });

  it("sends no auth message without a token", () => {
    const h = harness();
    h.client.subscribe("system", () => {});
    h.client.start();
    h.last().open();
    expect(h.last().sent).toEqual([{ action: "subscribe", channel: "system" }]);
  });

  it("builds the socket URL from the page's location, without a token", () => {
    expect(studioSocketUrl({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000/api/v1/ws");
    expect(studioSocketUrl({ protocol: "https:", host: "studio.lab" })).toBe("wss://studio.lab/api/v1/ws");
  });

  it("ignores malformed frames", () => {
    const h = harness();
    const got: WireMessage[] = [];
    h.client.subscribe("jobs/abc", (m) => got.push(m), 0);
    h.client.start();
    h.last().open();
    h.last().onmessage?.({ data: "not json" });
    h.last().push(ev(1));
    expect(got).toHaveLength(1);
  });
});
