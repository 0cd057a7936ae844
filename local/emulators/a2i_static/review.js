"use strict";
// Reviewer page of the local A2I emulator. Plain JavaScript, same-origin calls only, so it works
// offline. Answers are shaped like the crowd HTML elements' output: crowd-classifier named
// "category" ({"category": {"label": ...}}) and crowd-bounding-box named "annotatedResult".

const $ = (selector) => document.querySelector(selector);
const SVG_NS = "http://www.w3.org/2000/svg";
const MIN_BOX = 4; // image pixels: a smaller drag is a click, not a box
const REASONS = {
  low_confidence: "the model was unsure",
  no_label: "the model gave no label",
  audit_sample: "random quality check",
  drift_sample: "the model predicts this class unusually often",
};

const state = { current: null, task: null, labels: [], classes: [], boxes: [], selected: -1,
                width: 0, height: 0, drag: null, openedAt: 0 };

function el(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function svgEl(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || response.statusText);
  return body;
}

function setStatus(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

// --- the list of open loops -------------------------------------------------------------
async function loadLoops() {
  let loops;
  try {
    ({ loops } = await api("/review/api/loops"));
  } catch (error) {
    $("#empty").textContent = `Could not load tasks: ${error.message}`;
    return;
  }
  const list = $("#loops");
  list.replaceChildren();
  for (const loop of loops) {
    const button = el("button", { type: "button", "data-loop": loop.name,
                                  "aria-current": String(loop.name === state.current) });
    const kind = loop.taskType === "object-detection" ? "Draw boxes"
      : loop.taskType === "text-spans" ? "Check PII spans" : "Choose a label";
    button.append(el("strong", {}, kind), el("br"), el("span", { class: "loop-name" }, loop.name), el("br"),
                  el("span", { class: "muted" }, `${loop.policy || ""} · ${REASONS[loop.reason] || loop.reason || ""}`));
    button.addEventListener("click", () => openTask(loop.name));
    const item = el("li");
    item.append(button);
    list.append(item);
  }
  $("#empty").textContent = "No open tasks. New ones appear here by themselves.";
  $("#empty").hidden = loops.length > 0;
}

// --- one task ---------------------------------------------------------------------------
async function openTask(name) {
  setStatus("");
  let task;
  try {
    task = await api(`/review/api/loops/${encodeURIComponent(name)}`);
  } catch (error) {
    setStatus(`Could not open the task: ${error.message}`, "error");
    return;
  }
  state.current = name;
  state.task = task;
  state.openedAt = Date.now();
  const input = task.input || {};
  state.labels = (input.labels || []).slice().sort((a, b) => b.score - a.score);
  state.classes = [...new Set([...(input.classes || []), ...state.labels.map((l) => l.label)])];
  state.boxes = [];
  state.selected = -1;
  document.querySelectorAll("#loops button").forEach((b) => b.setAttribute("aria-current", String(b.dataset.loop === name)));

  $("#welcome").hidden = true;
  $("#task").hidden = false;
  const detection = input.taskType === "object-detection";
  const spans = input.taskType === "text-spans";
  $("#task-title").textContent = detection ? "Draw a box around each object"
    : spans ? "Is each highlighted span personal data, and of which type?"
    : input.policy === "faceoff-setup" ? "Was the face-off at this dot, with these two takers?" : "Choose the correct label";
  const facts = $("#task-facts");
  facts.replaceChildren();
  for (const [term, value] of [["Task", task.name], ["Why", REASONS[input.reason] || input.reason],
                               ["Policy", input.policy], ["Model", input.modelId], ["Created", task.creationTime]]) {
    if (value) facts.append(el("dt", {}, term), el("dd", {}, String(value)));
  }
  renderLabels(input);
  if (spans) renderSpanTask(task, input);
  else renderContent(task, input, detection);
  $("#classify").hidden = detection || spans;
  $("#detect").hidden = !detection;
  $("#accept").disabled = state.labels.length === 0;
  $("#submit").disabled = false;
  if (spans) return;
  if (!detection) renderClasses();
  else renderLabelChoices();
}

// --- PII spans (issue 19): the event and the loop carry offsets only; the text comes from the task
// object in the raw-PII bucket, shown as text nodes with each span marked, one type choice per span.
async function renderSpanTask(task, input) {
  const content = $("#content");
  content.replaceChildren(el("p", { class: "muted" }, "Loading the text ..."));
  let object;
  try {
    object = await api(task.objectUrl);
  } catch (error) {
    content.replaceChildren(el("p", { class: "muted" }, `The text could not be loaded: ${error.message}`));
    return;
  }
  const text = String(object.text || "");
  const spans = (input.spans || []).slice().sort((a, b) => a.begin_offset - b.begin_offset);
  const shown = el("p", { class: "text-task", id: "pii-text" });
  let at = 0;
  for (const span of spans) {
    shown.append(document.createTextNode(text.slice(at, span.begin_offset)),
                 el("mark", { "data-type": span.type }, text.slice(span.begin_offset, span.end_offset)));
    at = Math.max(at, span.end_offset);
  }
  shown.append(document.createTextNode(text.slice(at)));
  const list = el("ol", { id: "pii-spans", "aria-label": "Spans to check" });
  spans.forEach((span, index) => {
    const item = el("li");
    const select = el("select", { "data-begin": String(span.begin_offset), "data-end": String(span.end_offset),
                                  "aria-label": `Type of span ${index + 1}` });
    select.append(...state.classes.map((name) => el("option", { value: name }, name === "NOT_PII" ? "not PII" : name)));
    select.value = span.type;
    item.append(el("q", {}, text.slice(span.begin_offset, span.end_offset)),
                el("span", { class: "muted" }, ` model: ${span.type} (${Number(span.score).toFixed(2)}) `), select);
    list.append(item);
  });
  content.replaceChildren(shown, list);
}

function spansAnswer(pick) {
  const selects = [...document.querySelectorAll("#pii-spans select")];
  if (selects.length === 0) throw new Error("wait for the text to load");
  return { piiSpans: selects.map((select) => ({ beginOffset: Number(select.dataset.begin),
                                                endOffset: Number(select.dataset.end), label: pick(select) })) };
}

function renderLabels(input) {
  const body = $("#labels tbody");
  body.replaceChildren();
  const scale = input.scoreScale || 1;
  if (state.labels.length === 0) {
    const row = el("tr");
    row.append(el("td", { colspan: "2", class: "muted" }, "No label: the model found nothing it was sure of."));
    body.append(row);
  }
  for (const label of state.labels) {
    const row = el("tr");
    const share = Math.max(0, Math.min(1, label.score / scale));
    const score = el("td");
    const scoreBar = el("span", { class: "bar" });
    scoreBar.style.width = `${Math.round(share * 80)}px`; // a style property, so the page's CSP holds
    score.append(scoreBar,
                 document.createTextNode(scale === 100 ? `${label.score.toFixed(1)} / 100` : label.score.toFixed(3)));
    row.append(el("td", {}, label.label), score);
    body.append(row);
  }
}

function renderContent(task, input, detection) {
  const content = $("#content");
  content.replaceChildren();
  if (task.objectUrl && (detection || !input.text)) {
    const stage = el("div", { class: "stage" });
    const image = el("img", { alt: "Task image", src: task.objectUrl, draggable: "false" });
    stage.append(image);
    content.append(stage);
    image.addEventListener("load", () => {
      state.width = image.naturalWidth;
      state.height = image.naturalHeight;
      if (detection) setUpDrawing(stage);
    });
    image.addEventListener("error", () => content.append(el("p", { class: "muted" }, "The image could not be loaded.")));
  } else if (input.text) {
    content.append(el("div", { class: "text-task" }, input.text));
  } else if (input.prediction) {
    if (typeof input.picture === "string" && input.picture.startsWith("data:image/svg+xml;base64,")) {
      // The face-off setup review: the players at detection, drawn by human_review.logic.rink.
      content.append(el("img", { class: "rink", src: input.picture,
                                 alt: "Players at the moment of detection: the ringed dot is where the face-off was set up, the outlined players its takers" }));
    }
    const table = el("table");
    table.append(el("caption", {}, "The prediction to check"));
    for (const [key, value] of Object.entries(input.prediction)) {
      const row = el("tr");
      row.append(el("th", {}, key), el("td", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
      table.append(row);
    }
    content.append(table);
  } else {
    content.append(el("p", { class: "muted" }, "This task has no content to show."));
  }
}

function renderClasses() {
  const fieldset = $("#classes");
  fieldset.querySelectorAll("label").forEach((node) => node.remove());
  const top = state.labels[0] ? state.labels[0].label : null;
  state.classes.forEach((name, index) => {
    const label = el("label");
    const radio = el("input", { type: "radio", name: "category", value: name, id: `class-${index}` });
    radio.checked = name === top;
    label.append(radio, document.createTextNode(` ${name}`));
    fieldset.append(label);
  });
}

function renderLabelChoices() {
  const select = $("#new-label");
  select.replaceChildren(...state.classes.map((name) => el("option", { value: name }, name)));
  renderBoxList();
}

// --- drawing and editing boxes ----------------------------------------------------------
function setUpDrawing(stage) {
  const svg = svgEl("svg", { viewBox: `0 0 ${state.width} ${state.height}`, preserveAspectRatio: "none",
                             "aria-label": "Drawing area", role: "img" });
  stage.append(svg);
  // The model's boxes come as fractions of the image (Rekognition's convention): start from them.
  state.boxes = state.labels.filter((l) => l.bounding_box).map((l) => ({
    label: l.label, left: l.bounding_box.left * state.width, top: l.bounding_box.top * state.height,
    width: l.bounding_box.width * state.width, height: l.bounding_box.height * state.height,
  }));
  svg.addEventListener("pointerdown", (event) => startDrag(svg, event));
  svg.addEventListener("pointermove", (event) => moveDrag(svg, event));
  svg.addEventListener("pointerup", (event) => endDrag(svg, event));
  svg.addEventListener("pointercancel", () => { state.drag = null; render(); });
  render();
}

function imagePoint(svg, event) {
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const p = point.matrixTransform(svg.getScreenCTM().inverse());
  return { x: Math.max(0, Math.min(state.width, p.x)), y: Math.max(0, Math.min(state.height, p.y)) };
}

function startDrag(svg, event) {
  const at = imagePoint(svg, event);
  const index = Number(event.target.dataset.index);
  svg.setPointerCapture(event.pointerId);
  if (event.target.classList.contains("handle")) {
    state.drag = { kind: "resize", index };
  } else if (event.target.classList.contains("box")) {
    state.selected = index;
    const box = state.boxes[index];
    state.drag = { kind: "move", index, dx: at.x - box.left, dy: at.y - box.top };
  } else {
    state.drag = { kind: "draw", x0: at.x, y0: at.y, x1: at.x, y1: at.y };
  }
  render();
}

function moveDrag(svg, event) {
  const drag = state.drag;
  if (!drag) return;
  const at = imagePoint(svg, event);
  if (drag.kind === "draw") {
    drag.x1 = at.x;
    drag.y1 = at.y;
  } else if (drag.kind === "move") {
    const box = state.boxes[drag.index];
    box.left = Math.max(0, Math.min(state.width - box.width, at.x - drag.dx));
    box.top = Math.max(0, Math.min(state.height - box.height, at.y - drag.dy));
  } else if (drag.kind === "resize") {
    const box = state.boxes[drag.index];
    box.width = Math.max(MIN_BOX, at.x - box.left);
    box.height = Math.max(MIN_BOX, at.y - box.top);
  }
  render();
}

function endDrag(svg, event) {
  const drag = state.drag;
  state.drag = null;
  if (drag && drag.kind === "draw") {
    const box = { label: $("#new-label").value || "object",
                  left: Math.min(drag.x0, drag.x1), top: Math.min(drag.y0, drag.y1),
                  width: Math.abs(drag.x1 - drag.x0), height: Math.abs(drag.y1 - drag.y0) };
    if (box.width >= MIN_BOX && box.height >= MIN_BOX) {
      state.boxes.push(box);
      state.selected = state.boxes.length - 1;
    } else {
      state.selected = -1; // a click on empty space clears the selection
    }
  }
  if (svg.hasPointerCapture(event.pointerId)) svg.releasePointerCapture(event.pointerId);
  render();
}

function render() {
  const svg = document.querySelector(".stage svg");
  if (!svg) return;
  svg.replaceChildren();
  const handle = Math.max(8, state.width / 60);
  state.boxes.forEach((box, index) => {
    const selected = index === state.selected;
    svg.append(svgEl("rect", { class: selected ? "box selected" : "box", "data-index": index,
                               x: box.left, y: box.top, width: box.width, height: box.height }));
    const text = svgEl("text", { class: "box-label", x: box.left + 4, y: box.top + 16 });
    text.textContent = box.label;
    svg.append(text);
    if (selected) {
      svg.append(svgEl("rect", { class: "handle", "data-index": index, width: handle, height: handle,
                                 x: box.left + box.width - handle / 2, y: box.top + box.height - handle / 2 }));
    }
  });
  const drag = state.drag;
  if (drag && drag.kind === "draw") {
    svg.append(svgEl("rect", { class: "box", x: Math.min(drag.x0, drag.x1), y: Math.min(drag.y0, drag.y1),
                               width: Math.abs(drag.x1 - drag.x0), height: Math.abs(drag.y1 - drag.y0) }));
  }
  renderBoxList();
}

function renderBoxList() {
  const list = $("#boxes");
  list.replaceChildren();
  state.boxes.forEach((box, index) => {
    const item = el("li", { class: index === state.selected ? "selected" : "" });
    const select = el("select", { "aria-label": `Label of box ${index + 1}` });
    select.append(...state.classes.map((name) => el("option", { value: name }, name)));
    select.value = box.label;
    select.addEventListener("change", () => { box.label = select.value; render(); });
    item.append(el("span", {}, `Box ${index + 1}`), select,
                el("span", { class: "muted" }, `${Math.round(box.width)}×${Math.round(box.height)}`));
    item.addEventListener("click", (event) => {
      if (event.target !== select) { state.selected = index; render(); }
    });
    list.append(item);
  });
  $("#delete-box").disabled = state.selected < 0;
}

function deleteSelected() {
  if (state.selected < 0) return;
  state.boxes.splice(state.selected, 1);
  state.selected = -1;
  render();
}

// --- answers ----------------------------------------------------------------------------
function boxesAnswer(boxes) {
  return { annotatedResult: {
    boundingBoxes: boxes.map((b) => ({ label: b.label, left: Math.round(b.left), top: Math.round(b.top),
                                       width: Math.round(b.width), height: Math.round(b.height) })),
    inputImageProperties: { width: state.width, height: state.height },
  } };
}

function currentAnswer() {
  const input = state.task.input || {};
  if (input.taskType === "text-spans") return spansAnswer((select) => select.value);
  if (input.taskType === "object-detection") {
    if (!state.width) throw new Error("wait for the image to load");
    return boxesAnswer(state.boxes);
  }
  const chosen = document.querySelector('#classes input[name="category"]:checked');
  if (!chosen) throw new Error("choose a label first");
  return { category: { label: chosen.value } };
}

function modelAnswer() {
  const input = state.task.input || {};
  if (input.taskType === "text-spans") {
    const types = new Map((input.spans || []).map((s) => [`${s.begin_offset}:${s.end_offset}`, s.type]));
    return spansAnswer((select) => types.get(`${select.dataset.begin}:${select.dataset.end}`));
  }
  if (input.taskType === "object-detection") {
    const boxes = state.labels.filter((l) => l.bounding_box).map((l) => ({
      label: l.label, left: l.bounding_box.left * state.width, top: l.bounding_box.top * state.height,
      width: l.bounding_box.width * state.width, height: l.bounding_box.height * state.height }));
    return boxesAnswer(boxes);
  }
  return { category: { label: state.labels[0].label } };
}

async function submit(answerContent) {
  const name = state.current;
  $("#submit").disabled = true;
  $("#accept").disabled = true;
  try {
    const result = await api(`/review/api/loops/${encodeURIComponent(name)}/answer`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answerContent, workerId: "local-reviewer",
                             timeSpentInSeconds: Math.round((Date.now() - state.openedAt) / 1000) }),
    });
    state.current = null;
    await loadLoops();
    setStatus(`Submitted. Answer saved to ${result.outputS3Uri}`, "ok");
  } catch (error) {
    setStatus(`Not submitted: ${error.message}`, "error");
    $("#submit").disabled = false;
    $("#accept").disabled = state.labels.length === 0;
  }
}

$("#submit").addEventListener("click", () => {
  try { submit(currentAnswer()); } catch (error) { setStatus(`Not submitted: ${error.message}`, "error"); }
});
$("#accept").addEventListener("click", () => {
  try { submit(modelAnswer()); } catch (error) { setStatus(`Not submitted: ${error.message}`, "error"); }
});
$("#refresh").addEventListener("click", loadLoops);
$("#delete-box").addEventListener("click", deleteSelected);
$("#clear-boxes").addEventListener("click", () => { state.boxes = []; state.selected = -1; render(); });
document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (!typing && (event.key === "Delete" || event.key === "Backspace")) { deleteSelected(); event.preventDefault(); }
});

loadLoops();
setInterval(() => { if (!state.drag) loadLoops(); }, 5000);
