/**
 * The stock y-websocket provider in Node, as a user runs it against the
 * relay: `ws` as its WebSocket and no BroadcastChannel, so providers in one
 * process can only meet through the relay. Each provider counts the bytes it
 * receives, and its socket is reachable to make it vanish.
 */
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

export type Editor = {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Bytes received over every socket this provider opened. */
  received: () => number;
  text: () => string;
  destroy: () => void;
};

type Polyfill = NonNullable<
  NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>["WebSocketPolyfill"]
>;

/** Opens a provider on `docs` (the relay's `/docs` URL) for document `name`. */
export function editor(
  docs: string,
  name: string,
  options: { doc?: Y.Doc; params?: Record<string, string>; connect?: boolean } = {},
): Editor {
  const doc = options.doc ?? new Y.Doc();
  let bytes = 0;
  class CountingSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.on("message", (data: Buffer) => {
        bytes += data.byteLength;
      });
    }
  }
  const provider = new WebsocketProvider(docs, name, doc, {
    WebSocketPolyfill: CountingSocket as unknown as Polyfill,
    disableBc: true,
    params: options.params ?? {},
    connect: options.connect ?? true,
  });
  return {
    doc,
    provider,
    received: () => bytes,
    text: () => doc.getText("t").toString(),
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Resolves once the provider has synced with the relay. */
export function synced(editor: Editor): Promise<void> {
  if (editor.provider.synced) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (state: boolean) => {
      if (!state) return;
      editor.provider.off("sync", done);
      resolve();
    };
    editor.provider.on("sync", done);
  });
}
