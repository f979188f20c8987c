/**
 * The call report as one self-contained HTML file: the page script (bundled with uPlot at build time
 * into dist/callreport/page.js), its styles and the data are inlined, so it opens with no network.
 * The live page is the same shell fed by the probe's JSON API instead of embedded data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallReportData } from './model.js';
import { packCallReport } from './pack.js';

const PAGE_STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:24px 0 4px}h3{font-size:14px;margin:16px 0 4px;color:#444}
#meta,.summary{color:#666}#error{color:#b00}
/* Text from the wire (a Call-ID, a From, a reason phrase: up to 256 characters without a space) breaks
   anywhere rather than widening the page past the window; the other columns keep their words whole. */
h1,h2,.wire{overflow-wrap:anywhere}
table.list{border-collapse:collapse;background:#fff;font-size:12px}
table.list th,table.list td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
table.list th{background:#eee;cursor:pointer;user-select:none}
tr.call,tr.stream{cursor:pointer}tr.call:hover,tr.stream:hover{background:#eef4ff}tr.selected{background:#dde8ff}
.mono{font-family:ui-monospace,monospace}td.sdp{font-family:ui-monospace,monospace;font-size:11px;color:#555}
.mos.good{color:#080}.mos.fair{color:#870}.mos.poor{color:#c60}.mos.bad{color:#c00;font-weight:bold}.flags{color:#b00}
.pager{margin:6px 0}.pager button{margin:0 4px}#call-filter{margin:0 0 6px;font:inherit}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px}
svg.ladder{background:#fff;border:1px solid #ddd;display:block}
svg.ladder .lane{stroke:#999;stroke-width:1}svg.ladder .lane-name{font-size:11px;fill:#333}
svg.ladder .msg line{stroke-width:1.5}svg.ladder .msg .head{fill:none;stroke-width:1.5}
svg.ladder .msg-label{font-size:10px}svg.ladder .tick{stroke:#999}svg.ladder .tick-label{font-size:10px;fill:#666}
svg.ladder .request line,svg.ladder .request path{stroke:#1f5fbf}svg.ladder .request text{fill:#1f5fbf}
svg.ladder .provisional line,svg.ladder .provisional path{stroke:#888}svg.ladder .provisional text{fill:#777}
svg.ladder .success line,svg.ladder .success path{stroke:#1a8a1a}svg.ladder .success text{fill:#1a8a1a}
svg.ladder .failure line,svg.ladder .failure path{stroke:#c00}svg.ladder .failure text{fill:#c00}
svg.ladder .media rect{opacity:.75}.chart{margin:4px 0;background:#fff}
`;

let assets: { script: string; style: string } | null = null;

/** The bundled page script and uPlot's styles, read once from the build output. */
function pageAssets(): { script: string; style: string } {
  if (assets) return assets;
  // Beside this module in dist/; from the sources (tests), in the build output.
  const dirs = ['.', '../../dist/callreport/'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
  const dir = dirs.find((d) => existsSync(join(d, 'page.js')));
  if (!dir) throw new Error(`the HTML report's page script is missing from ${dirs[0]} (run \`npm run build\`)`);
  assets = { script: readFileSync(join(dir, 'page.js'), 'utf8'), style: readFileSync(join(dir, 'page.css'), 'utf8') };
  return assets;
}

/** Text safe inside a <script> element: no "</script", no "<!--". */
function scriptText(s: string): string {
  return s.replace(/<(?=[/!])/g, '\\u003c');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function shell(title: string, body: string): string {
  const a = pageAssets();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>${escapeHtml(title)}</title>
<style>${a.style}</style><style>${PAGE_STYLE}</style></head>
<body>
<h1 id="title">${escapeHtml(title)}</h1><div id="meta"></div><div id="error"></div>
<h2>Calls</h2><input id="call-filter" type="search" placeholder="find: part of a Call-ID, From or To" size="40" autocomplete="off"><div id="calls"></div>
<div id="detail"></div>
<h2>Streams without a call</h2><div id="orphans"></div>
${body}
<script>${scriptText(a.script)}</script>
</body></html>
`;
}

/** The replay's report: the data embedded as JSON (packed: see pack.ts). */
export function renderCallReportHtml(data: CallReportData): string {
  const json = JSON.stringify(packCallReport(data)).replace(/</g, '\\u003c');
  return shell(data.title, `<script type="application/json" id="report-data">${json}</script>`);
}

/** How often the live call page fetches its data. */
export const LIVE_PAGE_REFRESH_MS = 3000;

/** The live page: fetches `dataUrl` (the probe's call report API, packed) again `refreshMs` after each answer. */
export function renderLivePageHtml(title: string, dataUrl: string, refreshMs: number): string {
  const cfg = JSON.stringify({ url: dataUrl, refreshMs }).replace(/</g, '\\u003c');
  return shell(title, `<script>window.RTPPROBE_LIVE=${cfg};</script>`);
}
