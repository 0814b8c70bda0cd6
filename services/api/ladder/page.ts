/**
 * The ladder as an HTML page: the SVG on the left, the clicked message's full text on the right, and the page's
 * own stable URL to share. Self-contained (no external script or style) so it works offline and under a strict CSP.
 */
import { escapeXml } from './render.ts';

export interface LadderPageMessage {
  readonly summary: string;
  readonly text: string;
}

/** JSON inside a <script> block: `<` escaped so no message text can close the block. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderLadderPage(o: { title: string; svg: string; messages: readonly LadderPageMessage[]; shareUrl: string; svgUrl: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeXml(o.title)}</title>
<link rel="canonical" href="${escapeXml(o.shareUrl)}">
<style>
  body { margin: 0; font-family: system-ui, sans-serif; color: #1f2328; display: flex; flex-direction: column; height: 100vh; }
  header { padding: 8px 14px; border-bottom: 1px solid #d0d7de; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  header a, header code { font-size: 12px; }
  main { display: flex; flex: 1; min-height: 0; }
  #flow { flex: 1 1 auto; overflow: auto; }
  #detail { flex: 0 0 38%; border-left: 1px solid #d0d7de; overflow: auto; padding: 10px; background: #f6f8fa; }
  #detail h2 { font-size: 13px; margin: 0 0 8px; }
  #detail pre { font-size: 12px; white-space: pre-wrap; word-break: break-all; margin: 0; }
</style></head>
<body>
<header><h1>${escapeXml(o.title)}</h1><span>${o.messages.length} messages</span>
<span>Share: <a id="share" href="${escapeXml(o.shareUrl)}">${escapeXml(o.shareUrl)}</a></span>
<a href="${escapeXml(o.svgUrl)}">SVG</a></header>
<main><div id="flow">${o.svg}</div>
<aside id="detail"><h2 id="detail-title">Click an arrow to see the message</h2><pre id="detail-text"></pre></aside></main>
<script id="messages" type="application/json">${scriptJson(o.messages)}</script>
<script>
(function () {
  var messages = JSON.parse(document.getElementById('messages').textContent);
  var title = document.getElementById('detail-title');
  var text = document.getElementById('detail-text');
  function show(g) {
    var i = Number(g.getAttribute('data-index'));
    document.querySelectorAll('g.msg.selected').forEach(function (s) { s.classList.remove('selected'); });
    g.classList.add('selected');
    title.textContent = '#' + (i + 1) + ' ' + messages[i].summary;
    text.textContent = messages[i].text;
    if (location.hash !== '#m' + i) history.replaceState(null, '', '#m' + i);
  }
  document.querySelectorAll('g.msg').forEach(function (g) {
    g.addEventListener('click', function () { show(g); });
    g.addEventListener('keydown', function (e) { if (e.key === 'Enter') show(g); });
  });
  var first = location.hash ? document.querySelector('g.msg' + location.hash) : null;
  show(first || document.querySelector('g.msg') || { getAttribute: function () { return 0; }, classList: { add: function () {} } });
})();
</script>
</body></html>
`;
}
