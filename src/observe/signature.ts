/**
 * How a webhook POST is signed: the Standard Webhooks headers
 * (https://www.standardwebhooks.com), so a receiver verifies with a ready
 * library (`standardwebhooks` on npm, and its siblings in other languages),
 * plus the relay's older `X-Relay-*` headers, deprecated, for receivers
 * written before; they go away in the next release.
 */

export type Signer = (
  id: string,
  timestamp: number,
  body: string,
) => Promise<Record<string, string>>;

/** @deprecated headers, kept one release: hex HMAC of `<timestamp>.<body>`. */
export const LEGACY_SIGNATURE_HEADER = "x-relay-signature";
export const LEGACY_TIMESTAMP_HEADER = "x-relay-timestamp";

/** Standard Webhooks' prefix of a secret whose key is the base64 after it. */
const PREFIX = "whsec_";

/**
 * A signer for `secret`: a `whsec_<base64>` secret (Standard Webhooks' form)
 * keys the HMAC with the bytes it encodes; any other string with its own
 * UTF-8 bytes (verify with the library's `{ format: "raw" }`).
 */
export function signer(secret: string): Signer {
  const key = crypto.subtle.importKey(
    "raw",
    keyBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return async (id, timestamp, body) => {
    const standard = await mac(await key, `${id}.${timestamp}.${body}`);
    const legacy = await mac(await key, `${timestamp}.${body}`);
    return {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": `v1,${base64(standard)}`,
      [LEGACY_TIMESTAMP_HEADER]: String(timestamp),
      [LEGACY_SIGNATURE_HEADER]: `v1=${hex(legacy)}`,
    };
  };
}

export function keyBytes(secret: string): Uint8Array {
  if (!secret.startsWith(PREFIX)) return new TextEncoder().encode(secret);
  return Uint8Array.from(atob(secret.slice(PREFIX.length)), (char) => char.charCodeAt(0));
}

async function mac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
