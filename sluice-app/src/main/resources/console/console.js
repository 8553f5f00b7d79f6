'use strict';
// Node table, refreshed every 2 s from the admin API with the console session (cookie).
async function refresh() {
  const resp = await fetch('/admin/nodes', { credentials: 'same-origin' });
  if (resp.status === 401) { window.location = '/console/login'; return; }
  const body = await resp.json();
  const rows = body.nodes.map((n) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[n.id], [n.gpuType || ''], [n.state, 'state-' + n.state], [String(n.inFlight)],
      [String(n.weight)]]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  });
  document.querySelector('#nodes tbody').replaceChildren(...rows);
}
refresh();
setInterval(refresh, 2000);
