// Pitwall live dashboard: renders the server's snapshot; updates arrive as server-sent events.
"use strict";

const TEAM_COLOURS = {
  "Red Bull Racing": "#3671C6", "Ferrari": "#E8002D", "Mercedes": "#27F4D2", "McLaren": "#FF8000",
  "Aston Martin": "#229971", "Alpine": "#FF87BC", "Williams": "#64C4FF", "AlphaTauri": "#5E8FAA",
  "Alfa Romeo": "#C92D4B", "Haas F1 Team": "#B6BABD",
};
const DOTS = [[0, 0], [-20, -22], [-20, 22], [20, -22], [20, 22], [-69, -22], [-69, 22], [69, -22], [69, 22]];

const $ = (id) => document.getElementById(id);
const pct = (p) => `${Math.round(p * 100)}%`;
const text = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function filled(panel, yes) { $(panel).dataset.filled = yes ? "true" : "false"; }

function renderBattles(battles) {
  if (!battles.length) return;
  filled("panel-f1", true);
  $("battles").innerHTML = battles.map((b) => {
    const o = b.outcome;
    const verdict = !o ? null
      : o.status === "expired" ? ["no", "EXPIRED · no stop within the window"]
      : o.swapped ? ["", b.kind === "undercut" ? "UNDERCUT WORKED" : "OVERCUT WORKED"] : ["no", "POSITION HELD"];
    const outcome = verdict
      ? `<span class="outcome ${verdict[0]}">${verdict[1]}${o.gap_s !== null && o.gap_s !== undefined ? ` · gap ${Number(o.gap_s).toFixed(1)}s` : ""}</span>`
      : `<span class="meta">open · lap ${b.lap}</span>`;
    const spark = (b.history || []).map((h) => `<i style="height:${Math.max(2, h.p * 22)}px" title="lap ${h.lap}: ${pct(h.p)}"></i>`).join("");
    return `<div class="battle">
      <div class="duel"><span class="driver">${text(b.behind)}</span><span class="meta">${text(b.kind)} · ${text(b.first_stopper)} pitted lap ${b.opened_lap}</span><span class="driver">${text(b.ahead)}</span></div>
      <div class="bar"><span style="width:${pct(b.swap_probability)}"></span><em>${pct(b.swap_probability)} swap</em></div>
      <div class="duel"><span class="meta">predicted gap ${Number(b.predicted_gap_s).toFixed(2)} s · ${text(b.circuit || b.race_id)}</span><span class="spark">${spark}</span></div>
      <div>${outcome}</div></div>`;
  }).join("");
}

function renderFaceoff(faceoff, links) {
  const dots = $("dots");
  const lit = faceoff && faceoff.dot ? faceoff.dot : null;
  const litXY = lit ? (Array.isArray(lit) ? lit : [lit.x_ft ?? lit.x, lit.y_ft ?? lit.y]) : null;
  dots.innerHTML = DOTS.map(([x, y]) => {
    const on = litXY && Math.abs(litXY[0] - x) < 1 && Math.abs(litXY[1] - y) < 1;
    return `<circle cx="${x}" cy="${-y}" r="${on ? 3.2 : 2}" class="dot${on ? " lit" : ""}"/>`;
  }).join("");
  if (!faceoff) return;
  filled("panel-nhl", true);
  const name = (side) => faceoff[`${side}_player_name`] || `#${faceoff[`${side}_player_id`] ?? "?"}`;
  $("faceoff").innerHTML = `
    <div class="takers"><span class="driver" style="--team:#0077c8">${text(name("home"))} · home</span><span class="driver" style="--team:#888">away · ${text(name("away"))}</span></div>
    <div class="bar home"><span style="width:${pct(faceoff.home_win_probability)}"></span><em>${pct(faceoff.home_win_probability)} home win</em></div>
    <div class="meta">game ${text(faceoff.game_id)} · period ${text(faceoff.period)} · ${text(faceoff.dot && faceoff.dot.name)} (zone ${text(faceoff.dot && faceoff.dot.zone)}) · ${text(faceoff.trigger)} · ${text(faceoff.model_version)}</div>`;
}

function renderPii(pii) {
  if (!pii.batches) return;
  filled("panel-pii", true);
  const seconds = pii.first_at && pii.last_at ? (Date.parse(pii.last_at) - Date.parse(pii.first_at)) / 1000 : 0;
  const rate = pii.batches > 1 && seconds > 0 ? (pii.records / seconds).toFixed(1) : "–";
  const results = Object.entries(pii.by_result).map(([k, v]) => `${k} ${v}`).join(" · ");
  const chips = Object.entries(pii.entities).sort((a, b) => b[1] - a[1]).map(([k, v]) => `<span class="chip">${text(k)} ${v}</span>`).join("");
  $("pii").innerHTML = `<div class="kpis">
      <div class="kpi"><b>${pii.records}</b><span>records</span></div>
      <div class="kpi"><b>${rate}</b><span>records / s</span></div>
      <div class="kpi"><b>${Object.values(pii.entities).reduce((a, b) => a + b, 0)}</b><span>entities masked</span></div></div>
    <div class="meta">${text(results)}</div><div class="chips">${chips}</div>
    ${pii.sample ? `<div class="meta">redacted sample (from the destination bucket)</div><pre class="sample">${text(JSON.stringify(pii.sample, null, 1))}</pre>` : ""}`;
}

function renderReview(review, links) {
  if (!review.open.length && !review.completed.length) return;
  filled("panel-review", true);
  const reviewer = links.reviewer ? `<a href="${links.reviewer}" target="_blank">open the reviewer page</a>` : "";
  const open = review.open.map((l) => `<tr><td>${text(l.human_loop_name)}</td><td>${text(l.reason)}</td><td>${text(l.predicted_label)} ${l.normalised_score != null ? pct(l.normalised_score) : ""}</td></tr>`).join("");
  const done = review.completed.map((l) => `<tr><td>${text(l.human_loop_name)}</td><td>${text(l.status)}</td><td>${text(l.corrected_label)}${l.manifest_line ? `<pre class="sample">${text(l.manifest_line)}</pre>` : ""}</td></tr>`).join("");
  $("review").innerHTML = `<div class="meta">${review.open.length} open · ${review.completed.length} completed · ${reviewer}</div>
    <table class="loops">${open}${done}</table>`;
}

function renderCost(cost) {
  const recs = Object.values(cost.recommendations);
  if (!cost.characters && !recs.length) return;
  filled("panel-cost", true);
  const rec = recs[recs.length - 1];
  $("cost").innerHTML = `<div class="kpis">
      <div class="kpi"><b>${rec ? Number(rec.peak_characters_per_second).toFixed(0) : "–"}</b><span>peak chars / s</span></div>
      <div class="kpi"><b>${rec ? `${rec.configured_inference_units} → ${rec.recommended_inference_units}` : "–"}</b><span>inference units</span></div>
      <div class="kpi"><b>${rec ? (rec.projected_daily_saving ?? rec.projected_daily_shortfall ?? "–") : "–"}</b><span>${rec && rec.direction === "scale_up" ? "daily shortfall $" : "daily saving $"}</span></div></div>
    <div class="meta">PII APIs: ${cost.characters} characters, ${cost.billed_units} billed units${rec ? ` · endpoint ${text(rec.endpoint_name)}` : ""}</div>`;
}

function render(state) {
  renderBattles(state.battles);
  renderFaceoff(state.faceoff, state.links);
  renderPii(state.pii);
  renderReview(state.review, state.links);
  renderCost(state.cost);
  $("ticker").textContent = Object.entries(state.counts).map(([k, v]) => `${k} ${v}`).join("  ·  ") || "waiting for events…";
}

function connect() {
  const source = new EventSource("/api/stream");
  source.onmessage = (message) => render(JSON.parse(message.data));
  source.onerror = () => { $("live").textContent = "● RECONNECTING"; };
  source.onopen = () => { $("live").textContent = "● LIVE"; };
}

fetch("/api/state").then((r) => r.json()).then(render).finally(connect);
