/**
 * Structured logs: one JSON object per line, so `wrangler tail` and Workers
 * observability can filter on fields. Never pass message bodies here.
 */
type Field = string | number | boolean | undefined;

export function log(event: string, fields: Record<string, Field> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}

export function warn(event: string, fields: Record<string, Field> = {}): void {
  console.warn(JSON.stringify({ level: "warn", event, ...fields }));
}
