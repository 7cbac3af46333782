/**
 * Whether the next connection offers the `edge-relay.ndjson` subprotocol.
 * A relay that predates it does not echo it, and Chrome and Node's `ws` then
 * fail the handshake without saying why. So an attempt that offered it and
 * never opened is followed by one that does not; if that one opens, the relay
 * is taken to be plain for the rest of the client's life. If it fails too, the
 * relay was simply unreachable, and the next attempt offers it again.
 */
import { NDJSON_PROTOCOL } from "../src/frames";

export class SubprotocolChoice {
  /** The relay turned out not to speak the subprotocol. */
  private plain = false;
  /** The last offer failed its handshake: the next attempt goes without it. */
  private trial = false;

  constructor(private readonly enabled: boolean) {}

  /** The subprotocols to offer on the next attempt. */
  offer(): string[] {
    return this.enabled && !this.plain && !this.trial ? [NDJSON_PROTOCOL] : [];
  }

  /** The handshake of an attempt succeeded. */
  opened(offered: boolean): void {
    if (!offered && this.trial) this.plain = true;
    this.trial = false;
  }

  /** An attempt ended before its handshake succeeded. */
  failed(offered: boolean): void {
    this.trial = offered;
  }
}
