/**
 * One request of the server API, from a base URL or through a service
 * binding (any `{ fetch }`), with the admin token, read into an
 * `ApiResult`. Requests that are safe to repeat are retried after a network
 * failure or a 5xx; the rest are sent once.
 */
import type { ApiError, ApiErrorCode, ApiResult } from "./result";

/** A service binding, or anything else that answers a Request. */
export type Service = { fetch(request: Request): Promise<Response> };

/**
 * Where the relay is and how to reach it: a `url`, or a `service` (with an
 * optional `url` whose path is where the relay is mounted behind it).
 */
export type ApiOptions = {
  /** The server API's bearer token (the relay's `ADMIN_TOKEN`). */
  token: string;
  /** Extra attempts of a repeatable request after a network failure or a 5xx. Default 2. */
  retries?: number;
  /** Milliseconds before retry `attempt` (1, 2, ...). Default 200 ms, doubling. */
  retryDelay?: (attempt: number) => number;
} & (
  | {
      /** Where the relay is mounted, e.g. `https://relay.example.com` or `https://app.example.com/realtime`. */
      url: string;
      service?: undefined;
    }
  | {
      /** A service binding to the relay's Worker (or any `{ fetch }`), used instead of the global `fetch`. */
      service: Service;
      /** Only its path counts: where the relay is mounted in that Worker. Default `/`. */
      url?: string;
    }
);

/** One request: its method, path under the base, query, JSON body, and whether it may be repeated. */
export type Call = {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  repeatable: boolean;
};

const SERVICE_BASE = "https://relay.internal";
const SHOWN_BODY_CHARS = 200;

export class Transport {
  private readonly base: URL;
  private readonly send: (request: Request) => Promise<Response>;

  constructor(private readonly options: ApiOptions) {
    const { url, service } = options;
    // The types forbid it; plain JavaScript would otherwise post to the placeholder host.
    if (url === undefined && service === undefined) throw new TypeError("give a url or a service");
    this.base = new URL(url ?? SERVICE_BASE);
    this.send = service ? (request) => service.fetch(request) : (request) => fetch(request);
  }

  /** The call's JSON answer. */
  async json<T>(call: Call): Promise<ApiResult<T>> {
    return this.attempt(call, async (response) => {
      const text = await response.text();
      try {
        return { ok: true, value: JSON.parse(text) as T };
      } catch {
        return { ok: false, error: unexpected(response.status, text) };
      }
    });
  }

  /** The call's answer as bytes. */
  async bytes(call: Call): Promise<ApiResult<Uint8Array>> {
    return this.attempt(call, async (response) => ({
      ok: true,
      value: new Uint8Array(await response.arrayBuffer()),
    }));
  }

  private async attempt<T>(
    call: Call,
    read: (response: Response) => Promise<ApiResult<T>>,
  ): Promise<ApiResult<T>> {
    const retries = call.repeatable ? (this.options.retries ?? 2) : 0;
    for (let attempt = 0; ; attempt++) {
      const result = await this.once(call, read);
      if (result.ok || attempt >= retries || !transient(result.error)) return result;
      await delay(this.options.retryDelay?.(attempt + 1) ?? 200 * 2 ** attempt);
    }
  }

  private async once<T>(
    call: Call,
    read: (response: Response) => Promise<ApiResult<T>>,
  ): Promise<ApiResult<T>> {
    let response: Response;
    try {
      response = await this.send(this.request(call));
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      return { ok: false, error: { kind: "network", message, cause } };
    }
    if (response.ok) return read(response);
    return { ok: false, error: refusal(response.status, await response.text()) };
  }

  private request({ method, path, query, body }: Call): Request {
    const url = new URL(this.base);
    url.pathname = url.pathname.replace(/\/$/, "") + path;
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}` };
    if (body === undefined) return new Request(url, { method, headers });
    headers["content-type"] = "application/json";
    return new Request(url, { method, headers, body: JSON.stringify(body) });
  }
}

/** A refused request: the relay's error shape, or an unexpected answer when it is not that. */
function refusal(status: number, text: string): ApiError {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof error?.code === "string" && typeof error.message === "string") {
      return { kind: "relay", status, code: error.code as ApiErrorCode, message: error.message };
    }
  } catch {
    // not JSON: reported below with its text
  }
  return unexpected(status, text);
}

function unexpected(status: number, text: string): ApiError {
  const shown = text.slice(0, SHOWN_BODY_CHARS);
  return { kind: "unexpected", status, message: `HTTP ${status}: ${shown || "(empty body)"}` };
}

/** Worth another try: nothing came back, or the server failed (not a refusal of the request). */
function transient(error: ApiError): boolean {
  return error.kind === "network" || error.status >= 500;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
