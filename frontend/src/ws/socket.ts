/**
 * One WebSocket for all live events (`/api/v1/ws`), shared by every panel.
 *
 * Protocol (src/mistudio/api/routers/ws.py): the client sends
 * `{"action": "subscribe", "channel": "jobs/<id>", "after": <last seq seen>}` and the server
 * replays every stored event of that job with `seq > after`, then live ones, in order; `system`
 * pushes a metrics sample every ~2 s. This client remembers the last `seq` it delivered per job
 * channel, so after a dropped connection it reconnects (exponential back-off) and re-subscribes
 * with `after = last seq`: nothing is lost and nothing is delivered twice.
 *
 * With a token (MISTUDIO_TOKEN), the first message on every connection is
 * `{"action": "auth", "token": ...}`: the token never goes into the URL, which servers and proxies
 * write to their access logs. It is read on each connect, so a token entered later is used on the
 * next reconnect (a wrong one gets close code 4401, and the client keeps retrying with back-off).
 */

export type SocketState = "connecting" | "open" | "closed";

/** What the client needs of a WebSocket (the browser's, or a fake one in tests). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface WireMessage {
  channel?: string;
  job_id?: string;
  seq?: number;
  type: string;
  data?: Record<string, unknown>;
  last_seq?: number;
  detail?: string;
  [key: string]: unknown;
}

export type Handler = (message: WireMessage) => void;

export interface EventSocketOptions {
  createSocket?: (url: string) => SocketLike;
  /** Delay before reconnect attempt `n` (0-based), in ms. */
  backoff?: (attempt: number) => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  pingMs?: number;
  /** The bearer token to authenticate with, read on every connect (null: no token set). */
  token?: () => string | null;
}

const OPEN = 1;

export function defaultBackoff(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** attempt);
}

export function jobChannel(jobId: string): string {
  return `jobs/${jobId}`;
}

export class EventSocket {
  private socket: SocketLike | null = null;
  private handlers = new Map<string, Set<Handler>>();
  private lastSeq = new Map<string, number>();
  private stateHandlers = new Set<(s: SocketState) => void>();
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private stopped = true;
  state: SocketState = "closed";

  private readonly createSocket: (url: string) => SocketLike;
  private readonly backoff: (attempt: number) => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly pingMs: number;
  private readonly token: () => string | null;

  constructor(
    private readonly url: string,
    options: EventSocketOptions = {},
  ) {
    this.createSocket =
      options.createSocket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
    this.backoff = options.backoff ?? defaultBackoff;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer =
      options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.pingMs = options.pingMs ?? 25_000;
    this.token = options.token ?? (() => null);
  }

  /** Open the connection (idempotent); it reconnects by itself until `stop()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer(this.reconnectTimer);
    this.clearTimer(this.pingTimer);
    this.reconnectTimer = this.pingTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onopen = socket.onerror = null;
      socket.close(1000, "client stopped");
    }
    this.setState("closed");
  }

  /**
   * Listen on `channel` (`jobs/<id>`, `jobs`, `system`). For a job channel, `after` is the last
   * seq already known (e.g. `job.last_seq` from the REST answer): only later events are replayed.
   * Returns the unsubscribe function.
   */
  subscribe(channel: string, handler: Handler, after?: number): () => void {
    let set = this.handlers.get(channel);
    const fresh = !set || set.size === 0;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    if (channel.startsWith("jobs/") && after !== undefined) {
      this.lastSeq.set(channel, Math.max(this.lastSeq.get(channel) ?? 0, after));
    }
    if (fresh) this.sendSubscribe(channel);
    return () => this.unsubscribe(channel, handler);
  }

  onState(fn: (s: SocketState) => void): () => void {
    this.stateHandlers.add(fn);
    fn(this.state);
    return () => this.stateHandlers.delete(fn);
  }

  /** Last seq delivered on a job channel (0 when none). */
  seqOf(channel: string): number {
    return this.lastSeq.get(channel) ?? 0;
  }

  private unsubscribe(channel: string, handler: Handler): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    set.delete(handler);
    if (set.size === 0) {
      this.handlers.delete(channel);
      this.send({ action: "unsubscribe", channel });
    }
  }

  private sendSubscribe(channel: string): void {
    const message: Record<string, unknown> = { action: "subscribe", channel };
    if (channel.startsWith("jobs/")) message.after = this.lastSeq.get(channel) ?? 0;
    this.send(message);
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
    // Not open: the subscription is (re)sent from onopen.
  }

  private setState(state: SocketState): void {
    if (this.state === state) return;
    this.state = state;
    for (const fn of this.stateHandlers) fn(state);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState("connecting");
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setState("open");
      const token = this.token();
      if (token) this.send({ action: "auth", token }); // before anything else, never in the URL
      for (const channel of this.handlers.keys()) this.sendSubscribe(channel);
      this.schedulePing();
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {
      /* onclose follows and reconnects */
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimer(this.pingTimer);
      this.setState("closed");
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoff(this.attempt++);
    this.reconnectTimer = this.setTimer(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private schedulePing(): void {
    this.clearTimer(this.pingTimer);
    this.pingTimer = this.setTimer(() => {
      this.send({ action: "ping" });
      this.schedulePing();
    }, this.pingMs);
  }

  private receive(raw: unknown): void {
    let message: WireMessage;
    try {
      message = JSON.parse(String(raw)) as WireMessage;
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.type === "subscribed" || message.type === "unsubscribed") {
      const channel = message.channel;
      if (channel?.startsWith("jobs/") && typeof message.last_seq === "number") {
        this.lastSeq.set(channel, Math.max(this.seqOf(channel), message.last_seq));
      }
      return;
    }
    if (message.type === "pong" || message.type === "error" || message.type === "authenticated") return;
    if (message.job_id && typeof message.seq === "number") {
      const channel = jobChannel(message.job_id);
      const tracked = this.handlers.has(channel);
      if (tracked) {
        if (message.seq <= this.seqOf(channel)) return; // already delivered
        this.lastSeq.set(channel, message.seq);
      }
      this.dispatch(channel, message);
      this.dispatch("jobs", message);
      return;
    }
    if (message.channel) this.dispatch(message.channel, message);
  }

  private dispatch(channel: string, message: WireMessage): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (err) {
        console.error("event handler failed", err);
      }
    }
  }
}

/** The WebSocket URL of the studio this page was served by (no token: see `token` above). */
export function studioSocketUrl(loc: Pick<Location, "protocol" | "host"> = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/api/v1/ws`;
}
