/* emoscope page: plain JavaScript, no build step. Talks to the /v1 API with the bearer token
   kept in sessionStorage (given once in the address as #token=..., then removed from it). */
"use strict";

const TOKEN_KEY = "emoscope-token";
const POLL_MS = 1000;
const LABEL_COLOURS = {
  neutral: ["#b8b8b8", "#000"], happy: ["#e69f00", "#000"], sad: ["#0072b2", "#fff"],
  angry: ["#d55e00", "#000"], fearful: ["#cc79a7", "#000"], disgust: ["#009e73", "#000"],
  surprised: ["#f0e442", "#000"], calm: ["#56b4e9", "#000"], boredom: ["#8c8c5a", "#000"],
};
const FALLBACK_COLOURS = [["#a6cee3", "#000"], ["#b2df8a", "#000"], ["#fb9a99", "#000"],
  ["#fdbf6f", "#000"], ["#cab2d6", "#000"]];
const STAGE_NAMES = { vad: "finding speech", segments: "transcribing and analysing",
  asr: "transcribing", speakers: "telling speakers apart", explain: "explaining" };
const FORMAT_NAMES = { json: "JSON", html: "Report (HTML)", emotionml: "EmotionML",
  fhir: "FHIR R4", csv: "CSV", pdf: "PDF" };

const $ = (id) => document.getElementById(id);
const state = { token: null, health: null, current: null, pollTimer: null, recorded: null,
  recorder: null };

/* ---------- API ---------- */

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, {
    Authorization: `Bearer ${state.token}` });
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let code = "http_" + response.status;
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error) { code = body.error.code; message = body.error.message; }
    } catch (e) { /* not JSON */ }
    if (response.status === 401) { showAccess(message); }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

function uploadWithProgress(form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/analyses");
    xhr.setRequestHeader("Authorization", `Bearer ${state.token}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status === 202) { resolve(body); return; }
      const err = body.error || { code: "http_" + xhr.status, message: `Upload failed (${xhr.status}).` };
      if (xhr.status === 401) showAccess(err.message);
      reject(new ApiError(xhr.status, err.code, err.message));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The service cannot be reached. Is `emoscope serve` still running?"));
    xhr.send(form);
  });
}

/* ---------- access ---------- */

function readToken() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showAccess(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  for (const id of ["new", "progress", "result", "history"]) $(id).hidden = true;
  $("access").hidden = false;
  $("access-error").textContent = message || "";
  $("token-input").focus();
}

async function connect() {
  try {
    const response = await api("/v1/health");
    state.health = await response.json();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      showAccess(e.message);
    }
    return;
  }
  $("access").hidden = true;
  $("new").hidden = false;
  $("version").textContent = state.health.version;
  const models = $("model-list");
  models.replaceChildren(...(state.health.models || []).map((name) => el("option", { value: name })));
  await refreshHistory();
}

/* ---------- recording in the browser ---------- */

function setupRecorder() {
  const button = $("record-button");
  if (!(navigator.mediaDevices && window.MediaRecorder)) {
    button.disabled = true;
    $("record-status").textContent = "Recording is not available in this browser (or the page is not on this computer).";
    return;
  }
  button.addEventListener("click", async () => {
    if (state.recorder && state.recorder.state === "recording") {
      state.recorder.stop();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      $("record-status").textContent = "The microphone could not be opened: " + e.message;
      return;
    }
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    const started = Date.now();
    const timer = setInterval(() => {
      $("record-status").textContent = `Recording… ${formatTime((Date.now() - started) / 1000)}`;
    }, 500);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => {
      clearInterval(timer);
      stream.getTracks().forEach((t) => t.stop());
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      state.recorded = new File([blob], "recording.webm", { type: blob.type });
      $("file-input").value = "";
      const preview = $("record-preview");
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      button.textContent = "Record again";
      button.setAttribute("aria-pressed", "false");
      $("record-status").textContent = `Recorded ${formatTime((Date.now() - started) / 1000)}. Press Analyse to send it.`;
    };
    state.recorder = recorder;
    recorder.start(250);
    button.textContent = "Stop recording";
    button.setAttribute("aria-pressed", "true");
  });
  $("file-input").addEventListener("change", () => {
    state.recorded = null;
    $("record-preview").hidden = true;
    $("record-status").textContent = "";
  });
}

/* ---------- upload and progress ---------- */

async function submitUpload(event) {
  event.preventDefault();
  $("upload-error").textContent = "";
  const file = state.recorded || $("file-input").files[0];
  if (!file) {
    $("upload-error").textContent = "Choose an audio file or record one first.";
    $("file-input").focus();
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("model", $("model-input").value.trim() || "default");
  if ($("speakers-input").value) form.append("speakers", $("speakers-input").value);
  if ($("language-input").value.trim()) form.append("language", $("language-input").value.trim());
  for (const [id, name] of [["redact-input", "redact"], ["no-transcript-input", "no_transcript"],
    ["explain-input", "explain"], ["speaker-adapt-input", "speaker_adapt"],
    ["keep-upload-input", "keep_upload"]]) {
    form.append(name, $(id).checked ? "true" : "false");
  }
  $("analyse-button").disabled = true;
  $("result").hidden = true;
  showProgress(0, `Uploading ${file.name}…`);
  try {
    const job = await uploadWithProgress(form, (share) => {
      showProgress(Math.round(share * 100), `Uploading ${file.name}: ${Math.round(share * 100)} %`);
    });
    watch(job.id);
  } catch (e) {
    $("progress").hidden = true;
    $("upload-error").textContent = e.message;
  } finally {
    $("analyse-button").disabled = false;
  }
}

function showProgress(value, text) {
  $("progress").hidden = false;
  const bar = $("progress-bar");
  if (value === null) bar.removeAttribute("value"); else bar.value = value;
  $("progress-text").textContent = text;
}

function watch(jobId) {
  clearTimeout(state.pollTimer);
  const poll = async () => {
    let job;
    try {
      job = await (await api(`/v1/analyses/${jobId}`)).json();
    } catch (e) {
      showProgress(0, `Cannot follow the analysis: ${e.message}`);
      return;
    }
    if (job.state === "queued") {
      showProgress(null, `${job.filename}: waiting in the queue (place ${job.queue_position || "?"})…`);
    } else if (job.state === "running") {
      const seconds = (Date.now() - Date.parse(job.started)) / 1000;
      const p = job.progress;
      if (p && p.total_s > 0) {
        const share = Math.min(1, p.done_s / p.total_s);
        const stage = STAGE_NAMES[p.stage] || p.stage;
        showProgress(Math.round(share * 100), `${job.filename}: ${stage}, ${formatTime(p.done_s)} of ${formatTime(p.total_s)} (${formatTime(Math.max(0, seconds))} so far)`);
      } else {
        showProgress(null, `${job.filename}: analysing… ${formatTime(Math.max(0, seconds))}`);
      }
    } else if (job.state === "done") {
      showProgress(100, `${job.filename}: done.`);
      showResult(job);
      refreshHistory();
      return;
    } else {
      showProgress(0, `${job.filename}: the analysis failed. ${job.error ? job.error.message : ""}`);
      refreshHistory();
      return;
    }
    state.pollTimer = setTimeout(poll, POLL_MS);
  };
  poll();
}

/* ---------- result ---------- */

function formatTime(seconds) {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return `${m}:${rest < 10 ? "0" : ""}${rest.toFixed(1)}`;
}

function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function colours(label) {
  // The report's colour when the service says it (page and report agree), with black or white
  // text, whichever contrasts more.
  const shared = state.health && state.health.label_colours && state.health.label_colours[label];
  if (shared && /^#[0-9a-fA-F]{6}$/.test(shared)) {
    const l = luminance(shared);
    return [shared, (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000" : "#fff"];
  }
  if (LABEL_COLOURS[label]) return LABEL_COLOURS[label];
  let h = 0;
  for (const ch of String(label)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return FALLBACK_COLOURS[h % FALLBACK_COLOURS.length];
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, v);
  }
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function pct(x) { return `${Math.round(x * 100)}\u00a0%`; }

function showResult(job) {
  state.current = job;
  const doc = job.document;
  const duration = doc.recording.duration_s || 0;
  const segments = doc.segments || [];
  const summary = doc.summary || {};
  $("result-title").textContent = `Result: ${job.filename}`;

  const dl = $("summary");
  dl.replaceChildren();
  const facts = [
    ["Length", formatTime(duration)],
    ["Segments", String(segments.length)],
    ["Speech", formatTime(summary.speech_s || 0)],
    ["Most present", summary.dominant || "—"],
    ["Model", doc.model ? `${doc.model.name} ${doc.model.version}` : "none"],
  ];
  for (const [k, v] of facts) { dl.append(el("dt", {}, k), el("dd", {}, v)); }

  const dist = $("distribution");
  dist.replaceChildren();
  const entries = Object.entries(summary.distribution || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) dist.append(el("li", { class: "empty" }, "No emotion estimates in this document."));
  for (const [label, p] of entries) {
    const [bg] = colours(label);
    const li = el("li");
    li.append(el("span", { class: "dist-label" }, label),
      el("span", { class: "bar", style: { width: `${Math.max(1, p * 100)}%`, background: bg },
        "aria-hidden": "true" }),
      el("span", { class: "dist-value" }, pct(p)));
    dist.append(li);
  }

  renderTimeline(segments, duration);
  renderTranscript(segments);

  const notes = $("notes");
  notes.replaceChildren();
  for (const note of summary.notes || []) notes.append(el("li", {}, note));

  renderDownloads(job);
  $("result").hidden = false;
  $("result-title").setAttribute("tabindex", "-1");
  $("result-title").focus();
}

function renderTimeline(segments, duration) {
  const timeline = $("timeline");
  timeline.replaceChildren();
  timeline.dataset.segments = String(segments.length);
  const labels = new Set();
  const speakers = [...new Set(segments.map((s) => s.speaker || ""))];
  const lanes = Math.max(1, speakers.length);
  timeline.style.height = `${lanes * 2.6}rem`;
  if (!segments.length) {
    timeline.append(el("li", { class: "empty" }, "No speech segments were found in this recording."));
  }
  segments.forEach((seg, i) => {
    const label = seg.emotion ? seg.emotion.label : "no estimate";
    labels.add(label);
    const [bg, fg] = seg.emotion ? colours(label) : ["#e0e0e0", "#000"];
    const left = duration ? (seg.start / duration) * 100 : 0;
    const width = duration ? Math.max(0.4, ((seg.end - seg.start) / duration) * 100) : 100;
    const lane = speakers.indexOf(seg.speaker || "");
    const conf = seg.emotion ? `, ${pct(seg.emotion.confidence)} confidence` : "";
    const who = seg.speaker ? `${seg.speaker}, ` : "";
    const desc = `${formatTime(seg.start)} to ${formatTime(seg.end)}: ${who}${label}${conf}`;
    const item = el("li", {
      class: "segment", tabindex: "0", title: desc, "aria-label": desc, "data-index": String(i),
      style: { left: `${left}%`, width: `${width}%`, top: `${lane * 2.6}rem`, background: bg, color: fg },
    }, label);
    if (seg.emotion) {  // confidence as a strip along the bottom edge (colour alone never carries it)
      item.append(el("span", { class: "conf", "aria-hidden": "true",
        style: { width: `${Math.round(seg.emotion.confidence * 100)}%` } }));
    }
    const jump = () => {
      const row = document.querySelector(`#transcript tr[data-index="${i}"]`);
      if (row) {
        document.querySelectorAll("#transcript tr.selected").forEach((r) => r.classList.remove("selected"));
        row.classList.add("selected");
        row.scrollIntoView({ block: "nearest" });
      }
    };
    item.addEventListener("click", jump);
    item.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); jump(); } });
    timeline.append(item);
  });
  $("lanes").textContent = speakers.length > 1
    ? `Rows from top to bottom: ${speakers.map((s) => s || "unknown speaker").join(", ")}. `
      + "The dark strip at the bottom of a segment shows the model's confidence."
    : "The dark strip at the bottom of a segment shows the model's confidence.";
  const axis = $("axis");
  axis.replaceChildren();
  const ticks = 5;
  for (let k = 0; k <= ticks; k++) {
    axis.append(el("span", { style: { left: `${(k / ticks) * 100}%` } }, formatTime((duration * k) / ticks)));
  }
  const legend = $("legend");
  legend.replaceChildren();
  for (const label of labels) {
    const [bg] = label === "no estimate" ? ["#e0e0e0"] : colours(label);
    const li = el("li");
    li.append(el("span", { class: "swatch", style: { background: bg }, "aria-hidden": "true" }), document.createTextNode(label));
    legend.append(li);
  }
}

function renderTranscript(segments) {
  const body = $("transcript").querySelector("tbody");
  body.replaceChildren();
  if (!segments.length) {
    const tr = el("tr");
    tr.append(el("td", { colspan: "5" }, "No segments."));
    body.append(tr);
  }
  segments.forEach((seg, i) => {
    const tr = el("tr", { "data-index": String(i) });
    const emotion = seg.emotion ? `${seg.emotion.label} (${pct(seg.emotion.confidence)})` : "—";
    const flags = (seg.flags || []).map((f) => f.replace(/_/g, " ")).join(", ");
    tr.append(
      el("td", {}, `${formatTime(seg.start)}–${formatTime(seg.end)}`),
      el("td", {}, seg.speaker || "—"),
      el("td", {}, emotion),
      el("td", {}, seg.transcript || ""),
      el("td", {}, flags),
    );
    body.append(tr);
  });
}

function renderDownloads(job) {
  const box = $("downloads");
  box.replaceChildren();
  const base = job.filename.replace(/\.[^.]*$/, "") || "recording";
  const json = el("button", { type: "button", "data-format": "document" }, "Prediction (JSON)");
  json.addEventListener("click", () => {
    const blob = new Blob([JSON.stringify(job.document, null, 2)], { type: "application/json" });
    saveBlob(blob, `${base}.emoscope.json`);
  });
  box.append(json);
  const formats = (state.health && state.health.export_formats) || [];
  if (!formats.length) {
    box.append(el("p", {}, "Reports and other formats are not available in this version."));
  }
  if (formats.includes("html")) {
    const open = el("button", { type: "button", class: "primary", id: "open-report" }, "Open report");
    open.addEventListener("click", () => openReport(job));
    box.prepend(open);
  }
  const ordered = formats.includes("html") ? ["html", ...formats.filter((f) => f !== "html")] : formats;
  for (const fmt of ordered) {
    if (fmt === "json") continue;
    const button = el("button", { type: "button", "data-format": fmt }, FORMAT_NAMES[fmt] || fmt);
    button.addEventListener("click", () => download(job, fmt, button));
    box.append(button);
  }
  box.append(el("p", { id: "download-error", class: "error", role: "alert" }));
}

async function openReport(job) {
  // Open the tab at once (inside the click, so no pop-up blocker objects), then send it to a
  // short-lived signed link: a new tab cannot send the bearer header itself.
  const tab = window.open("", "_blank");
  $("download-error").textContent = "";
  try {
    const link = await (await api(`/v1/analyses/${job.id}/report-link`, { method: "POST" })).json();
    if (!tab) { window.location.assign(link.url); return; }
    tab.opener = null;
    tab.location.replace(link.url);
  } catch (e) {
    if (tab) tab.close();
    $("download-error").textContent = e.message;
  }
}

async function download(job, fmt, button) {
  button.disabled = true;
  $("download-error").textContent = "";
  try {
    const path = fmt === "html" ? `/v1/analyses/${job.id}/report` : `/v1/analyses/${job.id}/export/${fmt}`;
    const response = await api(path);
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const base = job.filename.replace(/\.[^.]*$/, "") || "recording";
    saveBlob(blob, match ? match[1] : `${base}.${fmt === "html" ? "html" : fmt}`);
  } catch (e) {
    $("download-error").textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function deleteCurrent() {
  const job = state.current;
  if (!job) return;
  if (!window.confirm(`Delete the analysis of ${job.filename} and everything stored with it?`)) return;
  try {
    await api(`/v1/analyses/${job.id}`, { method: "DELETE" });
    state.current = null;
    $("result").hidden = true;
    $("progress").hidden = true;
    await refreshHistory();
  } catch (e) {
    $("download-error").textContent = e.message;
  }
}

/* ---------- history ---------- */

async function refreshHistory() {
  let list;
  try {
    list = (await (await api("/v1/analyses")).json()).analyses;
  } catch (e) {
    return;
  }
  const body = $("history-table").querySelector("tbody");
  body.replaceChildren();
  $("history").hidden = !list.length;
  for (const job of list.slice().reverse()) {
    const tr = el("tr");
    const action = el("td");
    if (job.state === "done" || job.state === "queued" || job.state === "running") {
      const open = el("button", { type: "button" }, job.state === "done" ? "Open" : "Follow");
      open.setAttribute("aria-label", `${job.state === "done" ? "Open" : "Follow"} ${job.filename}`);
      open.addEventListener("click", () => watch(job.id));
      action.append(open);
    }
    const stateText = job.state === "failed" && job.error ? `failed: ${job.error.message}` : job.state;
    tr.append(el("td", {}, job.filename), el("td", {}, new Date(job.created).toLocaleString()),
      el("td", {}, stateText), action);
    body.append(tr);
  }
}

/* ---------- start ---------- */

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    state.token = value;
    $("token-input").value = "";
    connect();
  });
  $("upload-form").addEventListener("submit", submitUpload);
  $("delete-button").addEventListener("click", deleteCurrent);
  $("refresh-button").addEventListener("click", refreshHistory);
  setupRecorder();
  state.token = readToken();
  if (state.token) connect(); else showAccess("");
});
