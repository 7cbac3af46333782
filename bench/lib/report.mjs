/**
 * Turns bench results into the markdown table and the latency chart (a
 * hand-written SVG string; no browser involved).
 */

const int = (/** @type {number} */ n) => Math.round(n).toLocaleString("en-US");
const ms = (/** @type {number | null | undefined} */ n) =>
  n == null ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toString();

/**
 * The highest fan-out offered load that every server sustained (or the lowest
 * step if none is common), where latencies are compared like for like.
 * @param {any[]} results
 */
export function commonLoad(results) {
  results = results.filter((r) => r.fanout);
  const sets = results.map(
    (r) => new Set(r.fanout.points.filter((p) => p.sustained).map((p) => p.offered)),
  );
  const all = results[0]?.fanout.points.map((/** @type {any} */ p) => p.offered) ?? [];
  const common = all.filter((/** @type {number} */ o) => sets.every((s) => s.has(o)));
  return common.length ? Math.max(...common) : (all[0] ?? 0);
}

/** What each server agreed to when clients offered permessage-deflate. @param {any} r */
function extensionsOf(r) {
  const names = Object.keys(r.extensions ?? {}).map((e) => e.split(";")[0]);
  const text = [...new Set(names)].join(", ") || "–";
  return r.key === "wrangler-dev" && text !== "none" ? `${text} (by the dev harness)` : text;
}

/** @param {any} meta @param {any[]} results */
export function markdown(meta, results) {
  const base = results.find((r) => r.key === "ws");
  const common = commonLoad(results);
  const at = (/** @type {any} */ r) =>
    r.fanout?.points.find((/** @type {any} */ p) => p.offered === common);
  /**
   * @param {string} label
   * @param {(r: any) => number | null | undefined} get
   * @param {(n: number) => string} fmt
   * @param {boolean} [ratio] whether a ratio to the baseline means anything here
   */
  const row = (label, get, fmt, ratio = true) => {
    const cells = results.map((r) => {
      const v = r.unavailable ? undefined : get(r);
      if (v == null || Number.isNaN(v)) return "–";
      const b = base ? get(base) : undefined;
      if (!ratio) return fmt(v);
      const ratioText = b && r !== base ? ` (${(v / b).toFixed(2)}×)` : r === base ? " (1×)" : "";
      return `${fmt(v)}${ratioText}`;
    });
    return `| ${label} | ${cells.join(" | ")} |`;
  };
  /** @param {string} label @param {(r: any) => string} get */
  const textRow = (label, get) =>
    `| ${label} | ${results.map((r) => (r.unavailable ? "–" : get(r))).join(" | ")} |`;
  const fan = meta.params.fanout.clients;
  const storm = meta.params.storm.clients;
  const rooms = meta.params.rooms;
  const lines = [
    `# edge-relay benchmark (${meta.mode})`,
    "",
    `${meta.date} · ${meta.machine} · Node ${meta.node} · wrangler ${meta.versions.wrangler}, miniflare ${meta.versions.miniflare}, ws ${meta.versions.ws}, socket.io ${meta.versions["socket.io"]} · ${meta.generators} generator processes · run took ${Math.round(meta.seconds)} s`,
    "",
    `Each cell: absolute figure (ratio to the ws baseline measured in the same run). "Sustained" = ≥${meta.limits.deliveredMin * 100}% of deliveries arrived and p99 ≤ ${meta.limits.p99Ms} ms at that offered load.`,
    "",
    `| metric | ${results.map((r) => r.label).join(" | ")} |`,
    `|---|${results.map(() => "---:").join("|")}|`,
    textRow("compression agreed with clients that offer permessage-deflate", extensionsOf),
    row(
      `fan-out, 1 room × ${fan}: highest sustained deliveries/s`,
      (r) => r.fanout?.bestSustainedDeliveriesPerSec,
      int,
    ),
    row(
      `fan-out: peak deliveries/s in any step (sustained or not)`,
      (r) => r.fanout?.peakDeliveriesPerSec,
      int,
    ),
    row(
      "fan-out: messages per WebSocket frame sent by the server, at the highest sustained step",
      (r) => r.fanout?.bestSustainedMessagesPerFrameOut,
      (n) => n.toFixed(2),
      false,
    ),
    row(`fan-out p50 ms at ${common} msg/s offered`, (r) => at(r)?.p50, ms),
    row(`fan-out p95 ms at ${common} msg/s offered`, (r) => at(r)?.p95, ms),
    row(`fan-out p99 ms at ${common} msg/s offered`, (r) => at(r)?.p99, ms),
    row(
      `fan-out server CPU (% of a core) at ${common} msg/s`,
      (r) => {
        const p = at(r);
        if (!p) return undefined;
        const total = Object.values(p.serverCpu).reduce((a, b) => a + Number(b), 0);
        return (total / (meta.params.stepMs / 1000)) * 100;
      },
      (n) => `${Math.round(n)}%`,
    ),
    row(
      `join storm ${storm}: seconds until all welcomed`,
      (r) => r.storm?.secondsToAllWelcomed,
      (n) => n.toFixed(2),
    ),
    row(
      `join storm: server RSS per connection, KiB`,
      (r) => r.storm && r.storm.rssPerConnection / 1024,
      (n) => n.toFixed(1),
    ),
    row(
      `join storm: RSS per connection of every serving process (dev proxy included), KiB`,
      (r) => r.storm && r.storm.rssAllPerConnection / 1024,
      (n) => n.toFixed(1),
    ),
    row(
      `join storm: server RSS with ${storm} connected, MiB`,
      (r) => r.storm && r.storm.rssAfter / 2 ** 20,
      (n) => n.toFixed(1),
    ),
    row(
      `many rooms, ${rooms.rooms} × ${rooms.size}: highest sustained deliveries/s (workerd: every room on one thread here)`,
      (r) => r.rooms?.bestSustainedDeliveriesPerSec,
      int,
    ),
  ];
  for (const size of meta.params.payload.sizes) {
    lines.push(
      row(
        `payload ${size.label}, 1 room × ${meta.params.payload.clients}: deliveries/s`,
        (r) => r.payload?.[size.label].bestSustainedDeliveriesPerSec,
        int,
      ),
      row(
        `payload ${size.label}: MB/s delivered`,
        (r) => r.payload?.[size.label].bestSustainedMBPerSec,
        (n) => n.toFixed(1),
      ),
    );
  }
  lines.push(
    row(
      "load generator CPU, % of one core over the server's run",
      (r) => (r.generator.cpuSeconds / r.generator.wallSeconds) * 100,
      (n) => `${Math.round(n)}%`,
    ),
    "",
    "Server processes measured: the ws and Socket.IO baselines are one Node process each;",
    "edge-relay's RSS is the workerd process that runs the Worker (under `wrangler dev` the",
    'dev proxy is a second workerd process: in the CPU rows, and in the "every serving process" RSS row).',
    "",
    "Clients offer permessage-deflate as browsers do, and each server decides. On a direct socket our",
    "Worker answers the upgrade itself, as in production; under `wrangler dev` the harness in front of",
    "the Worker negotiates compression by itself, so that column is what local development sees.",
    '"ndjson clients" offer the `edge-relay.ndjson` subprotocol (docs/protocol.md) and pack each',
    "sender's messages of one timer tick into one frame; the ws baseline sends one JSON object per frame.",
    "",
    "Many rooms: workerd runs every Durable Object of a process on one thread, so here all rooms share",
    "one core; in production rooms spread over many machines. The runtime floor is bench/floor: a",
    "Durable Object whose `webSocketMessage` only forwards the raw text to the room's other sockets",
    "(no parse, no storage), on a direct socket like ours: what workerd itself costs per frame here.",
    "",
    "Fan-out ramp (offered msg/s → deliveries/s, p50/p99 ms, messages per frame the server sent,",
    "and the clients sent where more than one; ",
    "✗ not sustained, ° a bisection step between the last sustained and the first failed grid step):",
    "",
  );
  for (const r of results) {
    if (r.unavailable) {
      lines.push(`- ${r.label}: not measured (${r.unavailable})`);
      continue;
    }
    if (!r.fanout) continue;
    lines.push(`- ${r.label}: ${ramp(r.fanout.points)}`);
  }
  lines.push("", "Many-rooms ramp:", "");
  for (const r of results) if (r.rooms) lines.push(`- ${r.label}: ${ramp(r.rooms.points)}`);
  lines.push("");
  return lines.join("\n");
}

/** @param {any[]} points */
function ramp(points) {
  return points
    .map(
      (p) =>
        `${p.offered}${p.bisect ? "°" : ""}→${int(p.deliveriesPerSec)} (${ms(p.p50)}/${ms(p.p99)}` +
        `${p.messagesPerFrameOut ? `, ${p.messagesPerFrameOut.toFixed(2)}/frame` : ""}` +
        `${p.messagesPerFrameIn > 1.005 ? `, in ${p.messagesPerFrameIn.toFixed(2)}/frame` : ""})` +
        `${p.sustained ? "" : "✗"}`,
    )
    .join(", ");
}

/**
 * The sharding overhead: each side's highest sustained fan-out, and both at
 * the highest offered load both sustained, the sharded side as a ratio.
 * @param {any} o the `overhead` entry of latest.json
 */
export function overheadTable(o) {
  /** @param {any} s */
  const mode = (s) =>
    s.mode === "sharded"
      ? `sharded, sessions per shard ${s.sessionsPerShard.map((/** @type {any} */ x) => x.sessions).join(", ")}`
      : (s.mode ?? "not recorded");
  const [single, sharded] = o.sides;
  /** @param {string} label @param {(s: any) => number | null} get @param {(n: number) => string} fmt */
  const row = (label, get, fmt) => {
    const a = get(single);
    const b = get(sharded);
    const ratio = a && b != null ? ` (${(b / a).toFixed(2)}×)` : "";
    return `| ${label} | ${a == null ? "–" : fmt(a)} | ${b == null ? "–" : `${fmt(b)}${ratio}`} |`;
  };
  return [
    `1 room of ${o.clients} ${o.protocol} clients in one workerd (every object on one thread: the hop's cost, not the gain).`,
    "",
    `| metric | ${single.label} | ${sharded.label} |`,
    "|---|---:|---:|",
    `| room mode the server reported | ${o.sides.map(mode).join(" | ")} |`,
    row("highest sustained deliveries/s", (s) => s.bestSustainedDeliveriesPerSec, int),
    row(`deliveries/s at ${o.rate} msg/s offered (both sustained)`, (s) => s.deliveriesPerSec, int),
    row(`p50 ms at ${o.rate} msg/s`, (s) => s.p50, ms),
    row(`p99 ms at ${o.rate} msg/s`, (s) => s.p99, ms),
    "",
    ...o.sides.map((/** @type {any} */ s) => `- ${s.label}: ${ramp(s.points)}`),
    "",
  ].join("\n");
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/**
 * Latency percentiles (p50 dashed, p95 dotted, p99 solid) against offered
 * load in the fan-out scenario, both axes logarithmic.
 * @param {any[]} results @param {number} limitMs
 */
export function latencySvg(results, limitMs) {
  results = results.filter((r) => r.fanout);
  const W = 860;
  const H = 520;
  const L = 70;
  const R = 230;
  const T = 40;
  const B = 60;
  const pts = results.flatMap((r) => r.fanout.points);
  const xs = pts.map((/** @type {any} */ p) => p.offered);
  const ys = pts.flatMap((/** @type {any} */ p) => [p.p50, p.p95, p.p99]).filter((v) => v > 0);
  const x0 = Math.log10(Math.min(...xs, 10));
  const x1 = Math.log10(Math.max(...xs, 100));
  const y0 = Math.floor(Math.log10(Math.max(0.1, Math.min(...ys, 1))));
  const y1 = Math.ceil(Math.log10(Math.max(...ys, limitMs * 2)));
  const sx = (/** @type {number} */ v) => L + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (/** @type {number} */ v) =>
    H - B - ((Math.log10(Math.max(v, 10 ** y0)) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>Fan-out latency percentiles vs offered load</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-size="15" font-weight="bold">Fan-out latency vs offered load (1 room × ${results[0]?.fanout.clients ?? "?"})</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = sy(10 ** e);
    out.push(
      `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(1)}</text>`,
    );
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  for (const v of ticks) {
    const x = sx(v);
    out.push(
      `<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#eee"/>`,
      `<text x="${x}" y="${H - B + 16}" text-anchor="middle">${v}</text>`,
    );
  }
  out.push(
    `<line x1="${L}" y1="${sy(limitMs)}" x2="${W - R}" y2="${sy(limitMs)}" stroke="#999" stroke-dasharray="2,4"/>`,
    `<text x="${W - R - 4}" y="${sy(limitMs) - 4}" text-anchor="end" fill="#666">p99 limit ${limitMs} ms</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">offered load, messages/s across all senders (log)</text>`,
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">latency, ms (log)</text>`,
  );
  const styles = [
    ["p50", "6,4"],
    ["p95", "2,3"],
    ["p99", ""],
  ];
  results.forEach((r, i) => {
    const color = COLORS[i % COLORS.length];
    for (const [key, dash] of styles) {
      const line = r.fanout.points
        .filter((/** @type {any} */ p) => p[key] != null)
        .map((/** @type {any} */ p) => `${sx(p.offered).toFixed(1)},${sy(p[key]).toFixed(1)}`)
        .join(" ");
      out.push(
        `<polyline points="${line}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
      );
    }
    const ly = T + 10 + i * 20;
    out.push(
      `<line x1="${W - R + 12}" y1="${ly}" x2="${W - R + 36}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${W - R + 42}" y="${ly + 4}">${escapeXml(r.label)}</text>`,
    );
  });
  const ly = T + 20 + results.length * 20;
  styles.forEach(([key, dash], i) => {
    const y = ly + i * 18;
    out.push(
      `<line x1="${W - R + 12}" y1="${y}" x2="${W - R + 36}" y2="${y}" stroke="#333" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
      `<text x="${W - R + 42}" y="${y + 4}">${key}</text>`,
    );
  });
  out.push("</svg>", "");
  return out.join("\n");
}

/** @param {string} text */
function escapeXml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
