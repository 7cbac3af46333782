/** Random ids from crypto.getRandomValues, which (unlike randomUUID) also works on plain-http pages. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function randomId(length = 22): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = "";
  // 256 is not a multiple of 62, so the first few letters are very slightly likelier; harmless for ids.
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}
