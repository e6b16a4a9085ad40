/* gutbrain explorer: talks only to this server's /api; plots with the locally served plotly.js. */
"use strict";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));

/* Main read-outs with reference ranges (healthy adults; shaded). */
const PLOTS = [
  { v: "gad7", title: "Anxiety: GAD-7 score (last 2 weeks)", unit: "score 0-21, 14-day recall", state: "gad7_state", band: [0, 5], bandLabel: "minimal (< 5)", lines: [10, 15], yr: [0, 21] },
  { v: "phq9", title: "Depression: PHQ-9 score (last 2 weeks)", unit: "score 0-27, 14-day recall", state: "phq9_state", band: [0, 5], bandLabel: "minimal (< 5)", lines: [10, 15], yr: [0, 27] },
  { v: "perceived_stress", title: "Perceived stress (PSS)", unit: "score 0-40", band: [0, 13], bandLabel: "low (0-13)" },
  { v: "CORT", title: "Cortisol", unit: "µg/dL", band: [5, 23], bandLabel: "typical morning range 5-23" },
  { v: "CRP", title: "C-reactive protein", unit: "mg/L", band: [0, 3], bandLabel: "< 3 mg/L" },
  { v: "lm_ratio", title: "Gut permeability: lactulose/mannitol", unit: "ratio", band: [0, 0.03], bandLabel: "≈ 0.03 or less" },
  { v: "plasma_endotoxin", title: "Plasma endotoxin", unit: "pg/mL" },
  { v: "portal_butyrate", title: "Portal butyrate", unit: "µmol/L" },
  { v: "glucose", title: "Plasma glucose", unit: "mmol/L", band: [3.9, 7.8], bandLabel: "3.9-7.8 mmol/L" },
  { v: "hrv_rmssd", title: "Heart-rate variability (RMSSD)", unit: "ms", band: [19, 75], bandLabel: "19-75 ms" },
];

/* Patient traits offered as sliders (bounds and evidence come from /api/parameters). */
const TRAITS = [
  { p: "hpa_reactivity", label: "Stress-hormone (HPA) reactivity" },
  { p: "appraisal", label: "Threat appraisal of stressors" },
  { p: "w6", label: "Inflammatory responsiveness (w6)" },
  { p: "k_tj_damage", label: "Gut-barrier vulnerability (k_tj_damage)" },
];

/* The axis diagram (viewBox 400 x 292): nodes, and the signal each arrow carries along its path. */
const NODES = {
  stress: { x: 46, y: 100, label: ["Perceived", "stress"] },
  sns: { x: 142, y: 100, label: ["Sympathetic", "arousal"] },
  serotonin: { x: 238, y: 100, label: ["Serotonin/", "kynurenine"] },
  glucose: { x: 334, y: 100, label: ["Blood", "glucose"] },
  hpa: { x: 46, y: 180, label: ["HPA axis", "(cortisol)"] },
  vagus: { x: 142, y: 180, label: ["Vagus", "nerve"] },
  immune: { x: 238, y: 180, label: ["Immune:", "inflammation"] },
  endotoxin: { x: 334, y: 180, label: ["Endotoxin", "(LPS)"] },
  microbiota: { x: 46, y: 262, label: ["Microbiota", "(beneficial)"] },
  butyrate: { x: 142, y: 262, label: ["Butyrate", "(SCFA)"] },
  barrier: { x: 238, y: 262, label: ["Gut barrier", "leak (L/M)"] },
};
const BRAIN = { x: 10, y: 12, w: 380, h: 32, label: "Brain: anxiety (GAD-7) and mood (PHQ-9)" };
const EDGES = [
  { from: "stress", to: "brain", v: "PS", what: "perceived stress", pts: [[36, 84], [36, 46]] },
  { from: "brain", to: "stress", v: "ANX", what: "anxiety", pts: [[56, 44], [56, 82]] },
  { from: "stress", to: "sns", v: "PS", what: "perceived stress", pts: [[82, 100], [104, 100]] },
  { from: "sns", to: "brain", v: "SNS", what: "sympathetic arousal", pts: [[142, 84], [142, 46]] },
  { from: "serotonin", to: "brain", v: "serotonin_brain", what: "brain serotonin", pts: [[238, 84], [238, 46]] },
  { from: "glucose", to: "brain", v: "glucose", what: "glucose", pts: [[334, 84], [334, 46]] },
  { from: "stress", to: "hpa", v: "PS", what: "perceived stress", pts: [[46, 116], [46, 162]] },
  { from: "vagus", to: "brain", v: "VAG", what: "vagal tone", pts: [[118, 164], [94, 140], [94, 46]] },
  { from: "microbiota", to: "vagus", v: "beneficial", what: "beneficial microbes", pts: [[72, 246], [122, 198]] },
  { from: "microbiota", to: "butyrate", v: "beneficial", what: "beneficial microbes", pts: [[82, 262], [104, 262]] },
  { from: "butyrate", to: "barrier", v: "portal_butyrate", what: "butyrate", pts: [[178, 262], [200, 262]] },
  { from: "barrier", to: "endotoxin", v: "lm_ratio", what: "gut permeability", pts: [[262, 246], [314, 198]] },
  { from: "endotoxin", to: "immune", v: "plasma_endotoxin", what: "plasma endotoxin", pts: [[298, 180], [276, 180]] },
  { from: "immune", to: "serotonin", v: "inflammation", what: "inflammation (IDO, kynurenine)", pts: [[238, 164], [238, 118]] },
  { from: "immune", to: "brain", v: "inflammation", what: "inflammation (cytokines)", pts: [[262, 164], [286, 140], [286, 46]] },
  { from: "hpa", to: "barrier", v: "CORT", what: "cortisol", pts: [[82, 194], [200, 246]] },
];

const EXTRA_VARS = ["ANX", "DEP", "PS", "VAG", "SNS", "beneficial", "inflammation", "serotonin_brain", "kyn_trp"];
const state = { params: {}, traits: {}, treatments: [], last: null, prev: null, runs: 0, seq: 0, cursor: null, scenarios: [], maxDays: 365 };

/* Plotly options: the explorer works offline, so no mode-bar button may reach a third party. The cloud and
   Chart Studio switches are set explicitly (their defaults differ between plotly.js versions) and the
   buttons removed by name; displaylogo:false drops the "Produced with Plotly" link to plotly.com. */
const PLOT_CONFIG = {
  displaylogo: false, showSendToCloud: false, showEditInChartStudio: false, plotlyServerURL: "", responsive: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage", "sendDataToCloud", "editInChartStudio"],
};
const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}
function fmt(x, d = 3) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return Number(x.toPrecision(d)).toString();
}
function setStatus(text, st) { const s = $("#status"); s.textContent = text; s.dataset.state = st; }

async function api(path, opts) {
  const r = await fetch(path, opts);
  const ct = r.headers.get("content-type") || "";
  const body = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error(body && body.error ? body.error : `HTTP ${r.status}`);
    e.fix = body && body.fix; e.status = r.status; throw e;
  }
  return body;
}

/* ---------------- controls ---------------- */
function bindOutputs() {
  for (const input of $$("#controls input[type=range]")) {
    const out = document.querySelector(`output[for="${input.id}"]`);
    const show = () => { if (out) out.textContent = fmt(Number(input.value), 3); input.setAttribute("aria-valuetext", out ? out.textContent : input.value); };
    input.addEventListener("input", show); show();
  }
}

function buildTraits() {
  const box = $("#trait-sliders");
  box.innerHTML = "";
  for (const t of TRAITS) {
    const p = state.params[t.p];
    if (!p) continue;
    const div = document.createElement("div"); div.className = "slider";
    const id = `trait-${t.p}`;
    const step = (p.upper - p.lower) / 100;
    div.innerHTML = `<label for="${id}">${t.label} <output for="${id}"></output> <span class="grade" title="evidence grade">${p.grade}</span></label>
      <input id="${id}" type="range" min="${p.lower}" max="${p.upper}" step="${step}" value="${p.value}" data-param="${t.p}"
        aria-describedby="${id}-src">
      <p class="hint" id="${id}-src">${escapeHtml(p.note || "")} Range ${fmt(p.lower)}–${fmt(p.upper)}${p.unit === "dimensionless" ? "" : " " + escapeHtml(p.unit)}; reference ${fmt(p.value)}. Source: ${escapeHtml(p.source)}</p>`;
    box.appendChild(div);
  }
}
function escapeHtml(s) { return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }

function traitOverrides() {
  const out = {};
  for (const el of $$("#trait-sliders input[data-param]")) {
    const p = state.params[el.dataset.param];
    const v = Number(el.value);
    if (Math.abs(v - p.value) > 1e-12 * Math.max(1, Math.abs(p.value))) out[el.dataset.param] = v;
  }
  return out;
}

function num(id) { return Number($("#" + id).value); }

/* The builder's diet sliders and treatment episodes, built from the model's input list (GET /api/inputs:
   each input with a `control`), so an input added to the model appears here without editing this file. */
function buildInputControls(inputs) {
  const attrs = (o) => Object.entries(o).map(([k, v]) => `${k}="${escapeHtml(v)}"`).join(" ");
  state.treatments = [];
  const diet = $("#diet-controls"), treat = $("#treatment-controls");
  diet.innerHTML = ""; treat.innerHTML = "";
  for (const inp of inputs) {
    const c = inp.control;
    if (!c) continue;
    const lo = c.lower ?? inp.lower, hi = c.upper ?? inp.upper;
    const div = document.createElement("div");
    if (c.kind === "diet") {
      div.className = "slider";
      div.innerHTML = `<label for="${c.id}">${escapeHtml(c.label)} <output for="${c.id}"></output>${c.unit_label ? " " + escapeHtml(c.unit_label) : ""}</label>
        <input ${attrs({ id: c.id, type: "range", min: lo, max: hi, step: c.step, value: inp.default, "data-input": inp.name })}>`;
      diet.appendChild(div);
    } else {
      div.className = "episode"; div.dataset.input = inp.name;
      div.innerHTML = `<label class="check"><input id="${c.id}-on" type="checkbox"> ${escapeHtml(c.label)}</label>
        <div class="row">
          <label for="${c.id}-level">${escapeHtml(c.unit_label || "Level")} <input ${attrs({ id: c.id + "-level", type: "number", min: lo, max: hi, step: c.step, value: c.level ?? hi })}></label>
          <label for="${c.id}-start">Start day <input ${attrs({ id: c.id + "-start", type: "number", min: 0, max: 364, step: 1, value: c.start_day })}></label>
          <label for="${c.id}-days">Days <input ${attrs({ id: c.id + "-days", type: "number", min: 1, max: c.max_days, step: 1, value: c.days })}></label>
        </div>`;
      div.title = inp.description;
      treat.appendChild(div);
      state.treatments.push({ input: inp.name, label: c.label, id: c.id, colour: c.colour });
    }
  }
}
const count = (x) => x.toLocaleString("en-US", { maximumFractionDigits: 6 });

/* The run's length: whole days within 1 and the server's limit. What was changed goes to `notes`;
   an empty or non-numeric field refuses the run (returns null). */
function readDays(notes) {
  const raw = $("#days").value.trim(), v = Number(raw);
  if (raw === "" || !isFinite(v)) {
    notes.push(`Days to simulate is ${raw === "" ? "empty" : `“${raw}”, not a number`}: enter a whole number from 1 to ${count(state.maxDays)}.`);
    return null;
  }
  const d = Math.min(state.maxDays, Math.max(1, Math.round(v)));
  if (v > state.maxDays) notes.push(`${count(state.maxDays)} days is the maximum; ran ${count(d)} instead of ${count(v)}.`);
  else if (v < 1) notes.push(`1 day is the minimum; ran 1 instead of ${count(v)}.`);
  else if (d !== v) notes.push(`Runs last whole days; ran ${count(d)} instead of ${count(v)}.`);
  return d;
}
function clampDays() { return readDays([]) ?? 1; }

/* a builder field's name for messages, e.g. "Antibiotic course start day" */
function fieldName(el) {
  const group = el.closest(".episode") ? el.closest(".episode").querySelector("label.check").textContent.trim()
    : el.closest(".group").querySelector("h3").textContent.trim();
  return `${group} ${el.closest("label").textContent.trim().toLowerCase()}`;
}

/* A builder number within its field's min and max (the start day has no upper bound: an episode that starts
   after the run is reported by customScenario). Empty fields take their default; every change is noted. */
function builderNum(id, notes) {
  const el = $("#" + id), raw = el.value.trim(), v = Number(raw);
  const lo = Number(el.min), hi = id.endsWith("-start") ? Infinity : Number(el.max);
  if (raw === "" || !isFinite(v)) {
    const d = Number(el.defaultValue);
    notes.push(`${fieldName(el)} is ${raw === "" ? "empty" : `“${raw}”, not a number`}: used ${count(d)}.`);
    return d;
  }
  const c = Math.min(hi, Math.max(lo, v));
  if (c !== v) notes.push(`${fieldName(el)} ${count(v)} is ${v < lo ? "below the minimum" : "above the maximum"} ${count(c)}: used ${count(c)}.`);
  return c;
}

/* The custom scenario as a body for /api/simulate (the TOML-like fields). Episodes that start at or after
   the end of the run are left out, and said so in `notes`, as is every field brought inside its range. */
function customScenario(days, notes = []) {
  const gi = num("meal-gi");
  const sc = {
    name: "custom", description: "built in the explorer", days,
    diet: Object.fromEntries($$("#diet-controls input[data-input]").map((el) => [el.dataset.input, Number(el.value)])),
    meals: [{ time: 7.5, carbs: 50, gi }, { time: 12.5, carbs: 70, gi }, { time: 19.0, carbs: 70, gi }],
    episodes: [],
  };
  const ep = (input, what, prefix, level, extra) => {
    const start = builderNum(prefix + "-start", notes), dur = builderNum(prefix + "-days", notes);
    if (start >= days) {
      notes.push(`${what} starts on day ${count(start)}, ${start > days ? "after" : "at"} the end of the ${count(days)}-day run: not applied.`);
      return;
    }
    sc.episodes.push(Object.assign({ input, level: level ?? builderNum(prefix + "-level", notes), start_day: start, days: dur, label: input }, extra || {}));
  };
  if (num("stress") > 0) ep("stress", "Stress", "stress", num("stress"), $("#stress-work").checked ? { daily_window: [8, 19] } : {});
  for (const t of state.treatments) if ($(`#${t.id}-on`).checked) ep(t.input, t.label, t.id);
  return sc;
}

function drawTimeline() {
  const t = $("#timeline"); t.innerHTML = "";
  const days = clampDays();
  const rows = [["stress", "Stress", "#b2182b"], ...state.treatments.map((x) => [x.input, x.label.split(" ")[0], x.colour])];
  const yAxis = 6 + rows.length * 18 + 10;
  t.setAttribute("viewBox", `0 0 320 ${yAxis + 4}`);
  t.style.height = `${yAxis + 4}px`;
  const x0 = 58, x1 = 314, sx = (d) => x0 + (x1 - x0) * Math.min(d, days) / days;
  const sc = customScenario(days);
  const title = [];
  rows.forEach(([input, label, colour], i) => {
    const y = 6 + i * 18;
    svg("text", { x: 2, y: y + 10 }, t).textContent = label;
    svg("rect", { x: x0, y: y + 2, width: x1 - x0, height: 10, fill: "#eef0f4" }, t);
    for (const e of sc.episodes.filter((e) => e.input === input)) {
      const r = svg("rect", { x: sx(e.start_day), y: y + 2, width: Math.max(1.5, sx(e.start_day + e.days) - sx(e.start_day)), height: 10, fill: colour, opacity: input === "stress" ? 0.3 + 0.7 * e.level : 0.85 }, t);
      svg("title", {}, r).textContent = `${label}: level ${e.level}, day ${e.start_day} for ${e.days} days`;
      title.push(`${label} from day ${e.start_day} for ${e.days} days (level ${e.level})`);
    }
  });
  for (let k = 0; k <= 4; k++) {
    const d = Math.round(days * k / 4);
    svg("text", { x: sx(d) - (k === 4 ? 14 : k === 0 ? 0 : 6), y: yAxis }, t).textContent = `d${d}`;
  }
  $("#timeline-cap").textContent = "Timeline of the custom scenario: " + (title.length ? title.join("; ") : "no episodes (diet only)") + ".";
}

function scenarioChanged() {
  const name = $("#scenario").value;
  const custom = name === "__custom__";
  $("#builder").disabled = !custom;
  $("#builder-box").open = custom;
  const s = state.scenarios.find((x) => x.name === name);
  $("#scenario-desc").textContent = custom ? "Your own scenario from the builder below." : (s ? s.description : "");
  // long built-in scenarios start at 120 days so that re-runs stay quick; the field allows up to 365
  if (s) $("#days").value = Math.min(120, Math.max(1, Math.round(s.days)));
  state.cursor = null; // jump to the largest change after the next run
  $("#days-out").textContent = "";
}

/* ---------------- running ---------------- */
let timer = null;
function schedule() {
  drawTimeline();
  if (!$("#auto").checked) return;
  clearTimeout(timer);
  timer = setTimeout(run, 350);
}

/* What the explorer changed or refused in the last run's inputs, in a live region next to the status. */
function showNotes(notes) {
  const box = $("#notes");
  box.replaceChildren(...notes.map((n) => Object.assign(document.createElement("p"), { textContent: n })));
}

async function run() {
  clearTimeout(timer);
  const notes = [];
  const days = readDays(notes);
  if (days === null) {
    ++state.seq; // a run still under way no longer matches the form
    showNotes(notes);
    setStatus("Not run: fix the number of days.", "error");
    $("#run").disabled = false;
    return;
  }
  $("#days").value = days;
  const name = $("#scenario").value;
  const body = {
    scenario: name === "__custom__" ? customScenario(days, notes) : name,
    days, parameters: traitOverrides(), explain: true,
    output_every: days <= 30 ? 0.5 : days <= 120 ? 1 : 2,
    variables: Array.from(new Set(PLOTS.map((p) => p.v).concat(EDGES.map((e) => e.v), EXTRA_VARS))),
  };
  const seq = ++state.seq;
  showNotes(notes);
  setStatus("Simulating…", "running");
  $("#run").disabled = true;
  const t0 = performance.now();
  try {
    const res = await api("/api/simulate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (seq !== state.seq) return; // a newer run superseded this one
    state.prev = state.last; state.last = res; state.runs += 1;
    document.body.dataset.runs = String(state.runs);
    const cur = $("#cursor");
    const end = res.time[res.time.length - 1];
    const follow = state.cursor !== null && state.cursor >= Number(cur.max) - 1e-9;
    cur.min = Math.min(1, end); cur.max = end;
    if (state.cursor === null || state.cursor > end) state.cursor = peakChangeDay(res);
    else if (follow) state.cursor = end;
    cur.value = state.cursor;
    renderPlots();
    renderCursor();
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const changed = notes.length ? ` ${notes.length === 1 ? "One input was" : `${notes.length} inputs were`} changed or left out: see below.` : "";
    setStatus(`Done: ${res.scenario.name}, ${fmt(res.days)} days in ${secs} s. GAD-7 score (last 2 weeks) at the end ${fmt(res.summary.gad7.end)}, PHQ-9 score ${fmt(res.summary.phq9.end)}.${changed}`, "done");
  } catch (e) {
    if (seq !== state.seq) return;
    setStatus(`Error: ${e.message}${e.fix ? " — how to fix: " + e.fix : ""}`, "error");
  } finally {
    if (seq === state.seq) $("#run").disabled = false;
  }
}

/* daily means (bins ending at whole days) of a series, for the bold lines */
function daily(time, values) {
  const xs = [], ys = [];
  let s = 0, n = 0, day = 1;
  for (let i = 0; i < time.length; i++) {
    if (time[i] > day + 1e-9) { if (n) { xs.push(day - 0.5); ys.push(s / n); } s = 0; n = 0; day = Math.ceil(time[i] - 1e-9); }
    if (values[i] !== null && time[i] > day - 1 + 1e-9) { s += values[i]; n++; }
  }
  if (n) { xs.push(day - 0.5); ys.push(s / n); }
  return { x: xs, y: ys };
}

/* the day (end of a 24 h window) where the daily-mean GAD-7 score (14-day recall) differs most from day 1 */
function peakChangeDay(res) {
  const end = res.time[res.time.length - 1];
  const v = res.variables.gad7; if (!v || end < 2) return end;
  const d = daily(res.time, v.values);
  let best = d.x.length - 1, bestAbs = -1;
  d.y.forEach((y, i) => { const a = Math.abs(y - d.y[0]); if (a > bestAbs + 0.05) { best = i; bestAbs = a; } });
  return bestAbs > 0.25 ? Math.min(end, d.x[best] + 0.5) : end;
}

/* ---------------- plots ---------------- */
function plotLayout(cfg, res) {
  const shapes = [];
  if (cfg.band) shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: cfg.band[0], y1: cfg.band[1], fillcolor: "rgba(27,120,55,0.13)", line: { width: 0 }, layer: "below" });
  for (const l of cfg.lines || []) shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: l, y1: l, line: { color: "rgba(0,0,0,0.25)", width: 1, dash: "dot" }, layer: "below" });
  if (state.cursor !== null) shapes.push({ type: "line", xref: "x", x0: state.cursor, x1: state.cursor, yref: "paper", y0: 0, y1: 1, line: { color: "#f0a500", width: 2 } });
  const layout = {
    margin: { l: 46, r: 10, t: 6, b: 30 }, height: 190, showlegend: false, shapes,
    xaxis: { title: { text: "day", standoff: 2, font: { size: 11 } }, zeroline: false, range: state.xrange || undefined },
    yaxis: { zeroline: false, rangemode: "tozero" },
    font: { family: "system-ui, sans-serif", size: 11 }, hovermode: "x", paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  if (cfg.yr) layout.yaxis.range = cfg.yr;
  if (cfg.band) layout.annotations = [{ xref: "paper", x: 0.01, y: cfg.band[1], yref: "y", text: cfg.bandLabel, showarrow: false, xanchor: "left", yanchor: "top", font: { size: 9, color: "#1b7837" } }];
  return layout;
}

function renderPlots() {
  const res = state.last; if (!res) return;
  const box = $("#plots");
  for (const cfg of PLOTS) {
    const d = res.variables[cfg.v]; if (!d) continue;
    let card = document.getElementById("card-" + cfg.v);
    if (!card) {
      card = document.createElement("figure"); card.className = "plot"; card.id = "card-" + cfg.v; card.style.margin = "0";
      card.innerHTML = `<figcaption class="plot-title" id="cap-${cfg.v}">${cfg.title} <span>(${cfg.unit})</span></figcaption><div class="plot-area" id="plot-${cfg.v}" role="img" aria-labelledby="cap-${cfg.v} sum-${cfg.v}"></div><p class="sr-only" id="sum-${cfg.v}"></p>`;
      box.appendChild(card);
    }
    const traces = [];
    const prev = state.prev && state.prev.variables[cfg.v];
    if (prev) { const pd = daily(state.prev.time, prev.values); traces.push({ x: pd.x, y: pd.y, mode: "lines", name: "previous run (daily mean)", line: { color: "#6b7588", width: 1.3, dash: "dash" }, hoverinfo: "skip" }); }
    const st = cfg.state && res.variables[cfg.state];
    if (st && $("#hourly").checked) traces.push({ x: res.time, y: st.values, mode: "lines", name: "state measure (instantaneous, not a questionnaire score)", line: { color: "rgba(150,90,20,0.45)", width: 1, dash: "dot" }, hovertemplate: `day %{x:.2f}: %{y:.3g}<extra>state measure</extra>` });
    if ($("#hourly").checked) traces.push({ x: res.time, y: d.values, mode: "lines", name: "hour by hour", line: { color: "rgba(31,95,191,0.28)", width: 1 }, hovertemplate: `day %{x:.2f}: %{y:.3g} ${d.units}<extra>hourly</extra>` });
    const dm = daily(res.time, d.values);
    traces.push({ x: dm.x, y: dm.y, mode: "lines", name: "daily mean", line: { color: "#1f5fbf", width: 2.2 }, hovertemplate: `day %{x:.1f}: %{y:.3g} ${d.units}<extra>daily mean</extra>` });
    const el = document.getElementById("plot-" + cfg.v);
    Plotly.react(el, traces, plotLayout(cfg, res), PLOT_CONFIG);
    const s = res.summary[cfg.v];
    el.dataset.run = String(state.runs);
    el.dataset.end = String(s.end);
    $("#sum-" + cfg.v).textContent = `${cfg.title}: start ${fmt(s.start)}, end ${fmt(s.end)}, range ${fmt(s.min)} to ${fmt(s.max)} ${d.units}.`;
    if (!el.dataset.bound) {
      el.dataset.bound = "1";
      el.on("plotly_relayout", (ev) => syncRange(ev, el));
      el.on("plotly_click", (ev) => { if (ev.points && ev.points.length) { state.cursor = ev.points[0].x; $("#cursor").value = state.cursor; renderCursor(true); } });
    }
  }
}

let syncing = false;
function syncRange(ev, src) {
  if (syncing) return;
  let range = null;
  if (ev["xaxis.range[0]"] !== undefined) range = [ev["xaxis.range[0]"], ev["xaxis.range[1]"]];
  else if (ev["xaxis.range"]) range = ev["xaxis.range"];
  else if (ev["xaxis.autorange"]) range = null;
  else return;
  state.xrange = range;
  syncing = true;
  const upd = range ? { "xaxis.range": range } : { "xaxis.autorange": true };
  Promise.all(PLOTS.map((p) => document.getElementById("plot-" + p.v)).filter((el) => el && el !== src && el.data).map((el) => Plotly.relayout(el, upd)))
    .finally(() => { syncing = false; });
}

/* daily mean of a series over (t-1, t] */
function dailyMean(res, values, t) {
  const time = res.time; let s = 0, n = 0;
  for (let i = 0; i < time.length; i++) {
    if (time[i] > t - 1 - 1e-9 && time[i] <= t + 1e-9 && values[i] !== null) { s += values[i]; n++; }
  }
  return n ? s / n : NaN;
}

function renderCursor(movePlots) {
  const res = state.last; if (!res) return;
  const t = state.cursor;
  $("#cursor-out").textContent = fmt(t, 4);
  if (movePlots) {
    for (const cfg of PLOTS) {
      const el = document.getElementById("plot-" + cfg.v);
      if (el && el.data) Plotly.relayout(el, { shapes: plotLayout(cfg, res).shapes });
    }
  }
  renderAxis(t);
  renderWhy(t);
}

/* ---------------- axis diagram ---------------- */
function colourFor(l) {
  // l = log2(value / reference); diverging blue-grey-red
  const c = Math.max(-1, Math.min(1, l / 1.5));
  const grey = [154, 163, 178], up = [178, 24, 43], down = [33, 102, 172];
  const tgt = c >= 0 ? up : down, a = Math.abs(c);
  const mix = grey.map((g, i) => Math.round(g + (tgt[i] - g) * a));
  return `rgb(${mix.join(",")})`;
}

function renderAxis(t) {
  const res = state.last, ref = res.reference || {};
  const g = $("#axis"); g.innerHTML = "";
  const defs = svg("defs", {}, g);
  const list = $("#axis-list"); list.innerHTML = "";
  const signals = {};
  for (const e of EDGES) {
    if (signals[e.v] !== undefined) continue;
    const d = res.variables[e.v];
    const v = d ? dailyMean(res, d.values, t) : NaN;
    const r = ref[e.v];
    signals[e.v] = { v, r, l: (isFinite(v) && r > 0 && v > 0) ? Math.log2(v / r) : 0, units: d ? d.units : "" };
  }
  const name = (k) => (k === "brain" ? "Brain" : NODES[k].label.join(" "));
  EDGES.forEach((e, k) => {
    const s = signals[e.v];
    const col = colourFor(s.l), w = 1.4 + 3.2 * Math.min(1, Math.abs(s.l) / 1.5);
    const id = `arrow-${k}`;
    const m = svg("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 3.2, markerHeight: 3.2, orient: "auto-start-reverse", markerUnits: "strokeWidth" }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: col }, m);
    const d = e.pts.map((p, i) => `${i ? "L" : "M"}${p[0]},${p[1]}`).join(" ");
    const path = svg("path", { d, fill: "none", stroke: col, "stroke-width": w, "stroke-linejoin": "round", "marker-end": `url(#${id})`,
      "data-signal": e.v, "data-log2": s.l.toFixed(3), class: "edge" }, g);
    const txt = `${name(e.from)} → ${name(e.to)}: ${e.what} ${fmt(s.v)} ${s.units === "dimensionless" ? "" : s.units} (healthy reference ${fmt(s.r)}; ×${fmt(Math.pow(2, s.l), 2)})`;
    svg("title", {}, path).textContent = txt;
    const li = document.createElement("li"); li.textContent = txt; list.appendChild(li);
  });
  const bg = svg("g", { class: "node brain", "data-node": "brain" }, g);
  svg("rect", { x: BRAIN.x, y: BRAIN.y, width: BRAIN.w, height: BRAIN.h, rx: 6 }, bg);
  svg("text", { x: BRAIN.x + BRAIN.w / 2, y: BRAIN.y + 20, "text-anchor": "middle" }, bg).textContent = BRAIN.label;
  for (const [key, n] of Object.entries(NODES)) {
    const grp = svg("g", { class: "node", "data-node": key }, g);
    svg("rect", { x: n.x - 36, y: n.y - 16, width: 72, height: 32, rx: 6 }, grp);
    n.label.forEach((line, i) => { svg("text", { x: n.x, y: n.y - 3 + i * 12, "text-anchor": "middle" }, grp).textContent = line; });
  }
}

/* ---------------- why panel ---------------- */
function renderWhy(t) {
  const res = state.last;
  const target = (document.querySelector("input[name=why-target]:checked") || {}).value || "anxiety";
  const why = res.why && res.why[target];
  const box = $("#why-bars"); box.innerHTML = "";
  if (!why) { $("#why-summary").textContent = "No pathway breakdown for this run."; return; }
  const t0 = Math.min(1, t);
  const rows = why.terms.map((term) => ({ label: term.label, key: term.key, sign: term.sign, delta: dailyMean(res, term.values, t) - dailyMean(res, term.values, t0), param: term.parameter, e: term.elasticity }));
  const total = rows.reduce((s, r) => s + (isFinite(r.delta) ? r.delta : 0), 0);
  rows.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  const maxAbs = Math.max(0.02, ...rows.map((r) => Math.abs(r.delta) || 0));
  const score = res.summary[why.score] ? res.variables[why.score] : null;
  const s0 = score ? dailyMean(res, score.values, t0) : NaN, s1 = score ? dailyMean(res, score.values, t) : NaN;
  const factor = Math.exp(total);
  const top = rows.filter((r) => Math.abs(r.delta) > 0.01).slice(0, 3).map((r) => `${r.label.toLowerCase()} (${r.delta > 0 ? "+" : ""}${r.delta.toFixed(2)})`);
  $("#why-summary").textContent = `${why.label}: ${fmt(s0)} on day ${fmt(t0)} → ${fmt(s1)} on day ${fmt(t, 4)}. Its drive changed ×${fmt(factor, 3)}` +
    (top.length ? `, mainly through ${top.join(", ")}.` : "; no pathway changed appreciably.");
  box.dataset.target = target;
  for (const r of rows) {
    const div = document.createElement("div"); div.className = "bar"; div.dataset.term = r.key;
    const pct = Math.min(50, 50 * Math.abs(r.delta) / maxAbs);
    const up = r.delta >= 0;
    const shown = (Math.abs(r.delta) < 0.005 ? 0 : r.delta).toFixed(2);
    // direction of the underlying signal (a calming signal that falls raises the drive)
    const sigDir = Math.abs(r.delta) < 0.005 ? "" : (r.delta * r.sign > 0 ? " ↑" : " ↓");
    div.innerHTML = `<span title="elasticity ${escapeHtml(r.param)} = ${fmt(r.e)}; signal went ${sigDir.includes("↑") ? "up" : sigDir ? "down" : "nowhere"}">${escapeHtml(r.label)}${sigDir}</span>
      <span class="track" role="img" aria-label="${escapeHtml(r.label)}: ${up ? "raises" : "lowers"} the drive by ${fmt(Math.abs(r.delta), 2)} (log units)"><span class="mid"></span>
      <span class="fill ${up ? "up" : "down"}" style="${up ? `left:50%;width:${pct}%` : `left:${50 - pct}%;width:${pct}%`}"></span></span>
      <span class="num">${Number(shown) > 0 ? "+" : ""}${shown}</span>`;
    box.appendChild(div);
  }
}

/* ---------------- claims ---------------- */
async function loadClaims() {
  try {
    const c = await api("/api/claims");
    if (!c.available) { $("#claims-status").textContent = "Claims are not available in this installation."; return; }
    $("#claims-status").textContent = `${c.claims.length} claims can be checked against the model (this runs many simulations and may take a few minutes).`;
    $("#claims-run").hidden = false;
  } catch (e) { $("#claims-status").textContent = "Claims are not available: " + e.message; }
}

async function runClaims() {
  const btn = $("#claims-run"); btn.disabled = true;
  try {
    let job = await api("/api/claims", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    while (job.status === "queued" || job.status === "running") {
      $("#claims-status").textContent = `Checking claims: ${job.done}/${job.total || "?"} (${job.message})`;
      await new Promise((r) => setTimeout(r, 1500));
      job = await api(`/api/jobs/${job.id}`);
    }
    if (job.status !== "done") throw new Error(job.message);
    const res = await api(`/api/jobs/${job.id}/result`);
    renderClaims(res.claims, res.table);
    $("#claims-status").textContent = `Checked ${res.claims.length} claims.`;
  } catch (e) { $("#claims-status").textContent = "Claims failed: " + e.message + (e.fix ? " — " + e.fix : ""); }
  finally { btn.disabled = false; }
}

/* The claims table: the same columns as the CLI and the docs page (gutbrain.claims.report), where the server sends them. */
function renderClaims(rows, shared) {
  const table = $("#claims-table"); table.hidden = false;
  if (shared) {
    const verdictClass = { "holds": "pass", "does not hold": "fail", "partly": "" };
    table.querySelector("thead").innerHTML = "<tr>" + shared.columns.map((k) => `<th scope="col">${escapeHtml(k)}</th>`).join("") + "</tr>";
    table.querySelector("tbody").innerHTML = shared.rows.map((r) => "<tr>" + shared.columns.map((k) =>
      `<td class="${k === "verdict" ? verdictClass[r[k]] || "" : ""}">${escapeHtml(r[k] ?? "")}</td>`).join("") + "</tr>").join("");
    return;
  }
  const scalar = (v) => v === null || ["string", "number", "boolean"].includes(typeof v);
  const keys = [];
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (scalar(v) && !keys.includes(k)) keys.push(k);
  const cols = keys.slice(0, 7);
  table.querySelector("thead").innerHTML = "<tr>" + cols.map((k) => `<th scope="col">${escapeHtml(k)}</th>`).join("") + "</tr>";
  table.querySelector("tbody").innerHTML = rows.map((r) => "<tr>" + cols.map((k) => {
    const v = r[k]; const cls = v === true ? "pass" : v === false ? "fail" : "";
    return `<td class="${cls}">${escapeHtml(v === true ? "yes" : v === false ? "no" : typeof v === "number" ? fmt(v, 4) : (v ?? ""))}</td>`;
  }).join("") + "</tr>").join("");
}

/* Plotly's mode-bar buttons (7 per plot, rebuilt by Plotly as it likes) stay out of the Tab order, so that
   the keyboard goes from the controls to the rest of the page; they remain for the mouse. */
function keepModeBarsOutOfTabOrder() {
  const demote = () => { for (const b of $$("#plots .modebar-btn")) if (b.tabIndex !== -1) b.tabIndex = -1; };
  new MutationObserver(demote).observe($("#plots"), { childList: true, subtree: true });
}

/* On a narrow screen the patient traits start folded, so that the first plot is on the first screen. */
function foldOnNarrowScreens() {
  if (window.matchMedia("(max-width: 760px)").matches) $("#traits-box").open = false;
}

/* ---------------- start ---------------- */
async function init() {
  foldOnNarrowScreens();
  bindOutputs();
  if (typeof Plotly === "undefined") { setStatus("The plotting library did not load (is plotly installed on the server?).", "error"); return; }
  keepModeBarsOutOfTabOrder();
  try {
    const [sc, params, index, inputs] = await Promise.all([api("/api/scenarios"), api("/api/parameters"), api("/api"), api("/api/inputs")]);
    buildInputControls(inputs.inputs);
    state.maxDays = Math.floor(index.limits.max_days);
    $("#days").max = state.maxDays;
    state.scenarios = sc.scenarios;
    const sel = $("#scenario");
    for (const s of sc.scenarios) { const o = document.createElement("option"); o.value = s.name; o.textContent = s.name; sel.appendChild(o); }
    sel.value = sc.scenarios.some((s) => s.name === "chronic-work-stress") ? "chronic-work-stress" : "__custom__";
    for (const p of params.parameters) state.params[p.name] = p;
    buildTraits();
    bindOutputs();
  } catch (e) { setStatus("Could not load the catalogue: " + e.message, "error"); return; }
  scenarioChanged();
  drawTimeline();
  $("#scenario").addEventListener("change", () => { scenarioChanged(); schedule(); });
  $("#controls").addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  $("#controls").addEventListener("change", (ev) => { if (ev.target.id !== "scenario" && ev.target.id !== "auto") schedule(); });
  $("#controls").addEventListener("input", (ev) => { if (ev.target.type !== "range") drawTimeline(); });
  $("#reset-traits").addEventListener("click", () => {
    for (const el of $$("#trait-sliders input[data-param]")) { el.value = state.params[el.dataset.param].value; el.dispatchEvent(new Event("input")); }
    schedule();
  });
  const cur = $("#cursor");
  let raf = 0;
  cur.addEventListener("input", () => { state.cursor = Number(cur.value); cancelAnimationFrame(raf); raf = requestAnimationFrame(() => renderCursor(false)); });
  cur.addEventListener("change", () => { state.cursor = Number(cur.value); renderCursor(true); });
  for (const r of $$("input[name=why-target]")) r.addEventListener("change", () => state.last && renderWhy(state.cursor));
  $("#claims-run").addEventListener("click", runClaims);
  $("#hourly").addEventListener("change", renderPlots);
  loadClaims();
  run();
}

document.addEventListener("DOMContentLoaded", init);
