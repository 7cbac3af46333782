/**
 * A minimal Chrome DevTools Protocol client for workerd's V8 inspector
 * (Miniflare's `inspectorPort`): the bench uses it to profile the isolate and
 * to read its heap.
 */
import WebSocket from "ws";

/**
 * Connects to the Worker's isolate (the target named after the Worker).
 * @param {number} port the inspector port @param {RegExp} [title] which target
 * @returns {Promise<{cdp: (method: string, params?: object) => Promise<any>, close: () => void}>}
 */
export async function inspect(port, title = /edge-relay/) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((/** @type {any} */ t) => title.test(t.title ?? t.id)) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  /** @type {Map<number, (v: any) => void>} */
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    waiting.get(msg.id)?.(msg.result);
    waiting.delete(msg.id);
  });
  return {
    // workerd leaves some methods unanswered (HeapProfiler.collectGarbage): give up after 10 s.
    cdp: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const call = ++id;
        const timer = setTimeout(() => {
          waiting.delete(call);
          reject(new Error(`${method}: no answer from the inspector`));
        }, 10_000);
        waiting.set(call, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
        ws.send(JSON.stringify({ id: call, method, params }));
      }),
    close: () => ws.close(),
  };
}
