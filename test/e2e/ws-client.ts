/** A `ws` client that records frames and can wait for them. */
import WebSocket from "ws";
import type { ServerFrame } from "../../src/protocol";

type Of<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

export class WsClient {
  readonly frames: ServerFrame[] = [];
  readonly raw: string[] = [];
  closed: { code: number } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.raw.push(text);
      if (text !== "pong") this.frames.push(JSON.parse(text) as ServerFrame);
    });
    ws.on("close", (code) => {
      this.closed = { code };
    });
  }

  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    await client.next("welcome");
    return client;
  }

  get id(): string {
    const welcome = this.frames.find((f) => f.type === "welcome");
    if (!welcome) throw new Error("not welcomed");
    return welcome.id;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  all<T extends ServerFrame["type"]>(type: T): Of<T>[] {
    return this.frames.filter((f): f is Of<T> => f.type === type);
  }

  async next<T extends ServerFrame["type"]>(
    type: T,
    match: (frame: Of<T>) => boolean = () => true,
  ): Promise<Of<T>> {
    let found: Of<T> | undefined;
    await until(() => {
      found = this.all(type).find(match);
      return found !== undefined;
    }, `a ${type} frame`);
    return found as Of<T>;
  }
}

export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Attempts an upgrade that should be refused; returns its status and JSON body. */
export function refusedUpgrade(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => {
      ws.close();
      reject(new Error("upgrade was accepted"));
    });
    ws.once("error", () => {});
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
  });
}
