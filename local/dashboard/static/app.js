// Pitwall live dashboard: renders the server's snapshot; updates arrive as server-sent events.
// Event data only ever reaches the page as text (textContent, attribute values, style
// properties): nothing is parsed as HTML, so an event cannot script the page (issue 16.5). The
// server's Content-Security-Policy allows this script only, as a second wall.
"use strict";

const DOTS = [[0, 0], [-20, -22], [-20, 22], [20, -22], [20, 22], [-69, -22], [-69, 22], [69, -22], [69, 22]];
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const number = (value) => (typeof value === "number" && Number.isFinite(value) ? value : Number.NaN);
const pct = (p) => (Number.isNaN(number(p)) ? "–" : `${Math.round(number(p) * 100)}%`);
const width = (p) => `${Math.min(100, Math.max(0, Number.isNaN(number(p)) ? 0 : number(p) * 100))}%`;
const fixed = (value, digits) => (Number.isNaN(Number(value)) || value === null || value === "" ? "–" : Number(value).toFixed(digits));

// el("div", {class: "kpi"}, child, "text", ...): children are nodes or strings (always text).
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false)
    .map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

function bar(className, probability, label) {
  const fill = el("span");
  fill.style.width = width(probability);
  return el("div", { class: className }, fill, el("em", {}, `${pct(probability)} ${label}`));
}

function kpi(value, label) { return el("div", { class: "kpi" }, el("b", {}, value), el("span", {}, label)); }

function filled(panel, yes) { $(panel).dataset.filled = yes ? "true" : "false"; }

function outcomeOf(battle) {
  const o = battle.outcome;
  if (!o) return el("span", { class: "meta" }, `open · lap ${battle.lap}`);
  const [kind, words] = o.status === "expired" ? ["no", "EXPIRED · no stop within the window"]
    : o.swapped ? ["", battle.kind === "undercut" ? "UNDERCUT WORKED" : "OVERCUT WORKED"] : ["no", "POSITION HELD"];
  const gap = o.gap_s !== null && o.gap_s !== undefined ? ` · gap ${fixed(o.gap_s, 1)}s` : "";
  return el("span", { class: `outcome ${kind}`.trim() }, words + gap);
}

function renderBattles(battles) {
  if (!battles.length) return;
  filled("panel-f1", true);
  $("battles").replaceChildren(...battles.map((b) => {
    const spark = el("span", { class: "spark" }, ...(b.history || []).map((h) => {
      const tick = el("i", { title: `lap ${h.lap}: ${pct(h.p)}` });
      tick.style.height = `${Math.max(2, (Number.isNaN(number(h.p)) ? 0 : number(h.p)) * 22)}px`;
      return tick;
    }));
    return el("div", { class: "battle" },
      el("div", { class: "duel" }, el("span", { class: "driver" }, b.behind),
        el("span", { class: "meta" }, `${b.kind} · ${b.first_stopper} pitted lap ${b.opened_lap}`),
        el("span", { class: "driver" }, b.ahead)),
      bar("bar", b.swap_probability, "swap"),
      el("div", { class: "duel" },
        el("span", { class: "meta" }, `predicted gap ${fixed(b.predicted_gap_s, 2)} s · ${b.circuit || b.race_id}`), spark),
      el("div", {}, outcomeOf(b)));
  }));
}

function renderFaceoff(faceoff) {
  const lit = faceoff && faceoff.dot ? faceoff.dot : null;
  const litXY = lit ? (Array.isArray(lit) ? lit : [lit.x_ft ?? lit.x, lit.y_ft ?? lit.y]) : null;
  $("dots").replaceChildren(...DOTS.map(([x, y]) => {
    const on = litXY && Math.abs(litXY[0] - x) < 1 && Math.abs(litXY[1] - y) < 1;
    const dot = document.createElementNS(SVG_NS, "circle");
    for (const [name, value] of [["cx", x], ["cy", -y], ["r", on ? 3.2 : 2], ["class", on ? "dot lit" : "dot"]]) {
      dot.setAttribute(name, String(value));
    }
    return dot;
  }));
  if (!faceoff) return;
  filled("panel-nhl", true);
  const name = (side) => faceoff[`${side}_player_name`] || `#${faceoff[`${side}_player_id`] ?? "?"}`;
  const home = el("span", { class: "driver" }, `${name("home")} · home`);
  home.style.setProperty("--team", "#0077c8");
  const away = el("span", { class: "driver" }, `away · ${name("away")}`);
  away.style.setProperty("--team", "#888");
  const dot = faceoff.dot || {};
  $("faceoff").replaceChildren(
    el("div", { class: "takers" }, home, away),
    bar("bar home", faceoff.home_win_probability, "home win"),
    el("div", { class: "meta" }, `game ${faceoff.game_id} · period ${faceoff.period} · ${dot.name ?? ""} (zone ${dot.zone ?? ""}) · ${faceoff.trigger} · ${faceoff.model_version}`));
}

function renderPii(pii) {
  if (!pii.batches) return;
  filled("panel-pii", true);
  const seconds = pii.first_at && pii.last_at ? (Date.parse(pii.last_at) - Date.parse(pii.first_at)) / 1000 : 0;
  const rate = pii.batches > 1 && seconds > 0 ? (pii.records / seconds).toFixed(1) : "–";
  const results = Object.entries(pii.by_result).map(([k, v]) => `${k} ${v}`).join(" · ");
  const masked = Object.values(pii.entities).reduce((a, b) => a + Number(b), 0);
  const chips = Object.entries(pii.entities).sort((a, b) => b[1] - a[1]).map(([k, v]) => el("span", { class: "chip" }, `${k} ${v}`));
  $("pii").replaceChildren(
    el("div", { class: "kpis" }, kpi(pii.records, "records"), kpi(rate, "records / s"), kpi(masked, "entities masked")),
    el("div", { class: "meta" }, results), el("div", { class: "chips" }, ...chips),
    ...(pii.sample ? [el("div", { class: "meta" }, "redacted sample (from the destination bucket)"),
                      el("pre", { class: "sample" }, JSON.stringify(pii.sample, null, 1))] : []));
}

function renderReview(review, links) {
  if (!review.open.length && !review.completed.length) return;
  filled("panel-review", true);
  // Only a same-origin or http(s) link is followed (a javascript: URL is not a link).
  const safe = typeof links.reviewer === "string" && /^https?:\/\//.test(links.reviewer);
  const reviewer = safe ? el("a", { href: links.reviewer, target: "_blank", rel: "noopener" }, "open the reviewer page") : "";
  const row = (...cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, ...cell)));
  const open = review.open.map((l) => row([l.human_loop_name], [l.reason],
    [`${l.predicted_label ?? ""} ${l.normalised_score != null ? pct(l.normalised_score) : ""}`]));
  const done = review.completed.map((l) => row([l.human_loop_name], [l.status],
    [l.corrected_label ?? "", l.manifest_line ? el("pre", { class: "sample" }, l.manifest_line) : null]));
  $("review").replaceChildren(
    el("div", { class: "meta" }, `${review.open.length} open · ${review.completed.length} completed · `, reviewer),
    el("table", { class: "loops" }, ...open, ...done));
}

function renderCost(cost) {
  const recs = Object.values(cost.recommendations);
  if (!cost.characters && !recs.length) return;
  filled("panel-cost", true);
  const rec = recs[recs.length - 1];
  $("cost").replaceChildren(
    el("div", { class: "kpis" },
      kpi(rec ? fixed(rec.peak_characters_per_second, 0) : "–", "peak chars / s"),
      kpi(rec ? `${rec.configured_inference_units} → ${rec.recommended_inference_units}` : "–", "inference units"),
      kpi(rec ? (rec.projected_daily_saving ?? rec.projected_daily_shortfall ?? "–") : "–",
        rec && rec.direction === "scale_up" ? "daily shortfall $" : "daily saving $")),
    el("div", { class: "meta" }, `PII APIs: ${cost.characters} characters, ${cost.billed_units} billed units${rec ? ` · endpoint ${rec.endpoint_name}` : ""}`));
}

function render(state) {
  renderBattles(state.battles);
  renderFaceoff(state.faceoff);
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
