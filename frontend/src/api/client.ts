/**
 * The HTTP side of the studio API: one `request` that turns every failure into an `ApiError` whose
 * message is the backend's readable `{"detail": "..."}` line (or a sentence about the network).
 */

export const API_BASE = "/api/v1";

/** An optional bearer token (MISTUDIO_TOKEN), kept in localStorage by the System panel. */
export function apiToken(): string | null {
  try {
    return globalThis.localStorage?.getItem("mistudio.token") ?? null;
  } catch {
    return null;
  }
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The readable line for an error response body (FastAPI `detail`, string or validation list). */
export function detailOf(body: unknown, status: number, statusText = ""): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d: { loc?: unknown[]; msg?: string }) =>
          [Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "", d.msg]
            .filter(Boolean)
            .join(": "),
        )
        .join("; ");
    }
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return `request failed (${status}${statusText ? ` ${statusText}` : ""})`;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; form?: FormData; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = apiToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(API_BASE + withQuery(path, options.query), {
      method,
      headers,
      body,
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError("cannot reach the studio server; is `mistudio serve` running?", 0);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  if (!response.ok) {
    throw new ApiError(detailOf(parsed, response.status, response.statusText), response.status);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>("GET", path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>("POST", path, { body, query }),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }),
  del: (path: string) => request<void>("DELETE", path),
  upload: <T>(path: string, form: FormData) => request<T>("POST", path, { form }),
};

/** A readable message for anything thrown (ApiError, Error or other). */
export function errorMessage(err: unknown): string {
  if (!err) return "";
  if (err instanceof Error) return err.message;
  return String(err);
}
