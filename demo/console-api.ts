/**
 * The console's calls to the server API. The admin token lives in this tab
 * only: in memory and in sessionStorage (so a reload keeps it, closing the tab
 * forgets it), sent in an Authorization header, never in a URL.
 */
const KEY = "relay-console-token";
let token: string | null = sessionStorage.getItem(KEY);

/** The token was refused: the console asks for it again. */
export class Unauthorized extends Error {}

export function signedIn(): boolean {
  return token !== null;
}

export function signIn(value: string): void {
  token = value;
  sessionStorage.setItem(KEY, value);
}

export function signOut(): void {
  token = null;
  sessionStorage.removeItem(KEY);
}

export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token ?? ""}`);
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) throw new Unauthorized("the admin token was refused");
  if (!response.ok) throw new Error(await reasonOf(response));
  return response;
}

export async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await call(path, init)).json()) as T;
}

async function reasonOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  return body.error?.message ?? `${response.status} ${response.statusText}`;
}

/** A room or document name as a path segment. */
export const segment = (name: string) => encodeURIComponent(name);
