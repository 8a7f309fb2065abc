/**
 * Test helpers for components that talk to the API: a fake `fetch` answering from a handler
 * (recording every call), a one-page list answer, and rendering inside a fresh QueryClient.
 */
import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { vi } from "vitest";

export interface Call {
  method: string;
  url: string;
  body: unknown;
}

/** One page of a list endpoint. */
export function page<T>(items: T[]) {
  return { items, total: items.length, offset: 0, limit: 200 };
}

/**
 * Stub `fetch`: `handler` gets each call and returns the JSON body to answer with (or a Response,
 * for errors); every call is recorded in the returned array.
 */
export function stubApi(handler: (call: Call) => unknown): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      const call = { method: init?.method ?? "GET", url, body: init?.body ? JSON.parse(String(init.body)) : undefined };
      calls.push(call);
      const out = handler(call);
      if (out instanceof Response) return out;
      return out === undefined ? new Response(null, { status: 204 }) : new Response(JSON.stringify(out), { status: 200 });
    }),
  );
  return calls;
}

export function renderWithClient(ui: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}
