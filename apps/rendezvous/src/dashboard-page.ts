import type { DashboardStats } from './dashboard-stats.js';

// The operator's page: one HTML document with its CSS and script inline (about 8 KB, no framework,
// nothing fetched from elsewhere). The first snapshot is embedded in the page, so it shows the
// network at once; an EventSource on /api/stream then replaces it as the network changes. Every
// value from the directory is written with textContent, never as HTML.
const SCRIPT = `
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
const ago = (t) => { const s = Math.max(0, Math.round((Date.now() - t) / 1000)); return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago'; };
const bytes = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB';
function bars(target, rows) {
  target.replaceChildren();
  const max = Math.max(1, ...rows.map((r) => r[1]));
  for (const [label, value] of rows) {
    const row = el('div', undefined, 'bar');
    row.append(el('span', label, 'label'));
    const fill = el('span', undefined, 'fill'); fill.style.width = (100 * value / max).toFixed(1) + '%';
    row.append(fill, el('span', value, 'value'));
    target.append(row);
  }
  if (rows.length === 0) target.append(el('p', 'none yet', 'muted'));
}
function chart(svg, points) {
  const w = 600, h = 120;
  svg.replaceChildren();
  if (points.length === 0) return;
  const t0 = points[0][0], t1 = Math.max(t0 + 1, points[points.length - 1][0]);
  const max = Math.max(1, ...points.map((p) => p[1]));
  const xy = points.map(([t, n]) => [((t - t0) / (t1 - t0)) * w, h - 4 - (n / max) * (h - 14)]);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', xy.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '));
  svg.append(line);
  const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  label.setAttribute('x', '4'); label.setAttribute('y', '12'); label.textContent = 'max ' + max;
  svg.append(label);
}
function render(s) {
  $('online').textContent = s.online;
  $('store').textContent = s.store;
  $('requests').textContent = s.requests;
  $('updated').textContent = new Date(s.at).toLocaleTimeString();
  chart($('history'), s.history);
  bars($('mappings'), Object.entries(s.mappings).filter((e) => e[1] > 0));
  bars($('tags'), s.tags.map((t) => [t.tag, t.nodes]));
  bars($('networks'), s.networks.map((n) => [n.name + ' (' + n.joinRule + ')', n.members]));
  $('relay-packets').textContent = s.relay.packets;
  $('relay-bytes').textContent = bytes(s.relay.bytes);
  $('punches').textContent = s.relay.punches;
  const share = s.relay.packets + s.relay.punches;
  $('share').textContent = share === 0 ? 'no coordination yet' : Math.round((100 * s.relay.punches) / share) + ' % punched / ' + Math.round((100 * s.relay.packets) / share) + ' % relayed';
  const body = $('nodes');
  body.replaceChildren();
  for (const n of s.nodes) {
    const tr = el('tr');
    tr.dataset.node = n.nodeId;
    tr.append(el('td', n.nodeId), el('td', n.hostname ?? '—'), el('td', n.public ? 'public' : 'private'), el('td', n.mapping), el('td', n.tags.join(', ') || '—'), el('td', n.version ?? '—'), el('td', ago(n.lastSeen)));
    body.append(tr);
  }
  const events = $('events');
  events.replaceChildren();
  for (const e of s.events) events.append(el('li', new Date(e.at).toLocaleTimeString() + '  ' + e.kind + (e.nodeId !== undefined ? ' · node ' + e.nodeId : '') + (e.detail ? ' · ' + e.detail : '')));
  if (s.events.length === 0) events.append(el('li', 'nothing yet', 'muted'));
}
render(JSON.parse($('initial').textContent));
const stream = new EventSource('api/stream');
stream.addEventListener('stats', (m) => { $('live').textContent = 'live'; render(JSON.parse(m.data)); });
stream.onerror = () => { $('live').textContent = 'reconnecting…'; };
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2433; }
header { background: #1d2433; color: #fff; padding: 12px 20px; display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header .muted { color: #aab; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; padding: 16px 20px; }
section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #667; margin: 0 0 8px; }
.big { font-size: 40px; font-weight: 600; }
svg { width: 100%; height: 120px; background: #fafbfc; }
polyline { fill: none; stroke: #3867d6; stroke-width: 2; }
svg text { font-size: 10px; fill: #889; }
.bar { display: grid; grid-template-columns: 40% 1fr 3em; gap: 6px; align-items: center; margin: 3px 0; }
.bar .fill { background: #3867d6; height: 10px; border-radius: 3px; }
.bar .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar .value { text-align: right; }
table { width: 100%; border-collapse: collapse; }
td, th { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eee; }
ul { list-style: none; padding: 0; margin: 0; max-height: 260px; overflow: auto; font-family: ui-monospace, monospace; font-size: 12px; }
.muted { color: #889; }
`;

/** The dashboard document with `stats` embedded as its first state. */
export function dashboardPage(stats: DashboardStats): string {
  // JSON inside <script>: "<" escaped so that no value can close the element.
  const initial = JSON.stringify(stats).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pilot rendezvous</title><style>${STYLE}</style></head>
<body>
<header><h1>Pilot rendezvous</h1><span class="muted">store <b id="store"></b></span><span class="muted">requests <b id="requests"></b></span><span class="muted">updated <b id="updated"></b> · <b id="live">connecting…</b></span></header>
<main>
<section><h2>Nodes online</h2><div class="big" id="online"></div><svg id="history" viewBox="0 0 600 120" preserveAspectRatio="none"></svg></section>
<section><h2>NAT (announced vs seen address)</h2><div id="mappings"></div></section>
<section><h2>Direct vs relayed (coordination)</h2><p id="share"></p><p>relayed frames <b id="relay-packets"></b> · relayed bytes <b id="relay-bytes"></b> · punch commands <b id="punches"></b></p></section>
<section><h2>Top tags</h2><div id="tags"></div></section>
<section><h2>Networks</h2><div id="networks"></div></section>
<section><h2>Recent events</h2><ul id="events"></ul></section>
<section class="wide"><h2>Nodes (most recently seen)</h2><table><thead><tr><th>id</th><th>hostname</th><th>visibility</th><th>NAT</th><th>tags</th><th>version</th><th>last seen</th></tr></thead><tbody id="nodes"></tbody></table></section>
</main>
<script type="application/json" id="initial">${initial}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
