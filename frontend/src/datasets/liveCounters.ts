/**
 * Counters a dataset job reports with its progress events (`data.metrics`): tokens and documents
 * while tokenizing, bytes and rows while a Hub import downloads. The job row keeps only the bar's
 * fraction and message, so the counters are read from the live events as they come (a reloaded
 * page shows them again from the next event, a fifth of a second later at most).
 */
import { useCallback, useState } from "react";
import { formatBytes } from "../lib/format";
import type { WireMessage } from "../ws/socket";

export type Counters = Record<string, number>;

/** The latest numeric metrics of a job's progress events, and the handler that collects them. */
export function useLiveCounters(): [Counters, (m: WireMessage) => void] {
  const [counters, setCounters] = useState<Counters>({});
  const onEvent = useCallback((m: WireMessage) => {
    const metrics = (m.data as { metrics?: Record<string, unknown> } | undefined)?.metrics;
    if (m.type !== "progress" || !metrics) return;
    const numbers = Object.fromEntries(Object.entries(metrics).filter(([, v]) => typeof v === "number")) as Counters;
    if (Object.keys(numbers).length > 0) setCounters(numbers);
  }, []);
  return [counters, onEvent];
}

/** Every digit of a counter that ticks ("12,345"), where a summary would say "12.3k". */
const exact = (n: number) => n.toLocaleString("en-US");

/** "12,345 tokens processed · 300 documents kept · 2 truncated" (empty before the first count). */
export function tokenizeLine(c: Counters): string {
  if (c.tokens === undefined) return "";
  const parts = [`${exact(c.tokens)} tokens processed`];
  if (c.documents !== undefined) parts.push(`${exact(c.documents)} documents kept`);
  if (c.truncated) parts.push(`${exact(c.truncated)} truncated`);
  return parts.join(" · ");
}

/** "3.20 MB of ~12.0 MB downloaded" or "1,200 rows" (empty before the first count). */
export function importLine(c: Counters): string {
  const parts: string[] = [];
  if (c.bytes !== undefined) {
    parts.push(c.bytes_total ? `${formatBytes(c.bytes)} of ~${formatBytes(c.bytes_total)} downloaded` : `${formatBytes(c.bytes)} downloaded`);
  }
  if (c.rows !== undefined) parts.push(`${exact(c.rows)} rows`);
  return parts.join(" · ");
}
