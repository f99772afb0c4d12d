"""The Overview's first screen: one federated round in motion, from a real run.

Like TensorFlow Playground and GAN Lab, the app opens on a moving picture of the idea: the
clients as devices, the global model travelling out to the sampled ones, their updates
travelling back (each dot sized by the bytes that client really uploaded), dropped clients
sending nothing, the aggregate forming at the server and the test accuracy ticking to the
value the engine measured. Every number comes from :class:`~fedsim.engine.runner.RunSummary`
of the session's scenario (:func:`frames`); the picture only interpolates between them.

:func:`document` renders a self-contained HTML page (inline SVG, CSS and a few lines of plain
JavaScript; no library, nothing fetched: it works on a classroom LAN without internet) that
the page shows in a component iframe. The eight phases light in turn, as on the Training
page's cycle. ``prefers-reduced-motion`` shows the last round still; a click pauses.
"""

from __future__ import annotations

import json
import math
from typing import Mapping, Sequence

import numpy as np

from fedsim.engine.results import PHASES

#: At most this many devices are drawn (the first ones by id); the caption says how many more.
MAX_DEVICES = 10
#: Milliseconds each phase takes in the picture (the engine's own are far shorter: a round of
#: ten digits clients is ~10 ms, so the picture slows it down to be seen, and says so).
PHASE_MS = {"select": 500, "broadcast": 800, "train": 1000, "protect": 450, "upload": 900,
            "aggregate": 600, "update": 350, "evaluate": 800}


def frames(summary, max_devices: int = MAX_DEVICES) -> dict:
    """What the picture shows, from a finished run: devices (id, rows, label mix) and, per
    round, who was sampled, dropped or rejected, each upload's bytes and update norm, the
    last local loss, the bytes sent down and the global metric after the round."""
    counts = np.asarray(summary.label_counts, dtype=float)
    n = counts.shape[0]
    shown = list(range(min(n, max_devices)))
    mix = counts[shown] / np.maximum(counts[shown].sum(axis=1, keepdims=True), 1.0)
    devices = [{"id": k, "rows": int(summary.train_sizes[k]),
                "mix": [round(float(v), 4) for v in mix[i]]} for i, k in enumerate(shown)]
    rounds = []
    for r in summary.history:
        table = r.client_table
        ids = [int(v) for v in table.ids]
        loss = table.train_loss
        last = [float(row[-1]) if len(row) else float("nan") for row in loss]
        up = {str(k): int(b) for k, b in zip(ids, table.bytes_up)}
        norm = {str(k): float(v) for k, v in zip(ids, table.update_norm)}
        sampled = [int(k) for k in r.sampled]
        rounds.append({
            "round": int(r.round), "sampled": sampled, "dropped": [int(k) for k in r.dropped],
            "rejected": [int(k) for k in r.rejected], "aborted": bool(r.aborted),
            "up": up, "norm": norm,
            "loss": {str(k): (None if math.isnan(v) else round(v, 4)) for k, v in zip(ids, last)},
            "down": int(r.bytes_down // max(len(sampled), 1)),
            "metric": float(r.global_metrics[summary.metric_key]),
            "ms": {p.phase: round(float(p.ms), 2) for p in r.trace}})
    return {"clients": n, "devices": devices, "rounds": rounds,
            "initial": float(summary.initial[summary.metric_key]),
            "metric": summary.metric_key, "labels": len(summary.label_names)}


def document(data: Mapping, text: Mapping[str, str], colors: Sequence[str],
             label_colors: Sequence[str], height: int = 380) -> str:
    """The whole HTML page for ``data`` (:func:`frames`). ``text``: the strings in the
    session's language (phase names under ``phase.<name>``, ``round``, ``server``,
    ``accuracy``/``mse``, ``client``, ``rows``, ``dropped``, ``rejected``, ``paused``,
    ``engine_ms``). Values are inserted as JSON inside a script (``</`` escaped), never as
    markup, so nothing in them can become HTML."""
    payload = json.dumps({"data": data, "text": dict(text), "phases": list(PHASES),
                          "phaseMs": PHASE_MS, "colors": list(colors),
                          "labelColors": list(label_colors)}, ensure_ascii=False)
    payload = payload.replace("</", "<\\/")
    return _TEMPLATE.replace("__HEIGHT__", str(int(height))).replace("__DATA__", payload)


_TEMPLATE = r"""<!doctype html>
<html><head><meta charset="utf-8">
<style>
  html, body { margin: 0; padding: 0; background: transparent; overflow: hidden;
    font-family: "Source Sans Pro", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
  svg { width: 100%; height: auto; max-height: __HEIGHT__px; display: block; cursor: pointer; user-select: none; }
  .chip rect { fill: #f1f3f4; stroke: #bdbdbd; }
  .chip.on rect { fill: #ffe0b2; stroke: #e65100; stroke-width: 2.5; }
  .chip.done rect { fill: #e8f5e9; stroke: #9e9e9e; }
  .chip text { font-size: 13px; fill: #222; }
  .chip.on text { font-weight: 700; }
  .dev rect.body { fill: #fff; stroke: #9e9e9e; stroke-width: 1.5; }
  .dev.sampled rect.body { stroke: #e65100; stroke-width: 3; }
  .dev.idle { opacity: .35; }
  .dev text { font-size: 12px; fill: #333; }
  .dev .cross { stroke: #c62828; stroke-width: 4; display: none; }
  .dev.dropped .cross { display: inline; }
  .server rect { fill: #e3f2fd; stroke: #1565c0; stroke-width: 2; }
  .server.pulse rect { fill: #bbdefb; stroke-width: 4; }
  .big { font-size: 26px; font-weight: 700; fill: #0d47a1; }
  .cap { font-size: 14px; fill: #333; }
  .small { font-size: 11px; fill: #666; }
  .train-ring { fill: none; stroke: #e65100; stroke-width: 3; stroke-dasharray: 8 6; }
</style></head>
<body>
<svg id="fs" viewBox="0 0 860 __HEIGHT__" role="img" aria-labelledby="cap"></svg>
<script>
"use strict";
const P = __DATA__;
const D = P.data, T = P.text, W = 860, H = __HEIGHT__;
const NS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("fs");
function el(name, attrs, parent, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  (parent || svg).appendChild(e);
  return e;
}
function fmtMetric(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  return D.metric === "accuracy" ? (100 * v).toFixed(1) + " %" : v.toFixed(3);
}
// Phase chips along the top: the same eight phases as the Training page's cycle.
const chips = [];
const cw = (W - 20) / P.phases.length;
P.phases.forEach((p, i) => {
  const g = el("g", {"class": "chip", "data-phase": p});
  el("rect", {x: 10 + i * cw + 2, y: 6, width: cw - 4, height: 26, rx: 13}, g);
  el("text", {x: 10 + i * cw + cw / 2, y: 24, "text-anchor": "middle"}, g, T["phase." + p]);
  chips.push(g);
});
// The server, with the global metric.
const server = el("g", {"class": "server"});
el("rect", {x: W / 2 - 130, y: 46, width: 260, height: 70, rx: 12}, server);
el("text", {x: W / 2, y: 68, "text-anchor": "middle", "class": "cap"}, server, T.server);
const metricText = el("text", {x: W / 2, y: 102, "text-anchor": "middle", "class": "big",
                               "data-testid": "fs-metric"}, server, fmtMetric(D.initial));
// A sparkline of the metric so far, right of the server.
const spark = el("polyline", {fill: "none", stroke: "#1565c0", "stroke-width": 2.5,
                              points: ""});
el("text", {x: W / 2 + 150, y: 58, "class": "small"}, svg, T[D.metric]);
// Devices along the bottom, each with its label mix as a small stacked bar.
const nd = D.devices.length, dy = H - 120;
const dw = Math.min(70, (W - 40) / Math.max(nd, 1) - 10);
const devs = {};
D.devices.forEach((d, i) => {
  const cx = 20 + (i + 0.5) * (W - 40) / nd;
  const g = el("g", {"class": "dev", "data-client": d.id});
  el("rect", {"class": "body", x: cx - dw / 2, y: dy, width: dw, height: 84, rx: 9}, g);
  let y0 = dy + 10;
  d.mix.forEach((share, c) => {
    if (share <= 0) return;
    el("rect", {x: cx - dw / 2 + 8, y: y0, width: dw - 16, height: 40 * share,
                fill: P.labelColors[c % P.labelColors.length]}, g);
    y0 += 40 * share;
  });
  el("text", {x: cx, y: dy + 66, "text-anchor": "middle"}, g,
     T.client + " " + d.id);
  el("text", {x: cx, y: dy + 79, "text-anchor": "middle", "class": "small"}, g,
     d.rows + " " + T.rows);
  el("line", {"class": "cross", x1: cx - 16, y1: dy + 20, x2: cx + 16, y2: dy + 52}, g);
  el("line", {"class": "cross", x1: cx + 16, y1: dy + 20, x2: cx - 16, y2: dy + 52}, g);
  const ring = el("circle", {"class": "train-ring", cx: cx, cy: dy + 30, r: 0}, g);
  const lossText = el("text", {x: cx, y: dy - 8, "text-anchor": "middle", "class": "small"}, g, "");
  devs[d.id] = {g: g, cx: cx, ring: ring, loss: lossText,
                color: P.colors[i % P.colors.length]};
});
const caption = el("text", {id: "cap", x: W / 2, y: H - 10, "text-anchor": "middle",
                            "class": "cap", "data-testid": "fs-caption"}, svg, "");
const dots = el("g", {});
// Sizes: a dot's area is proportional to the bytes it carries (largest upload: radius 13).
let maxUp = 1;
D.rounds.forEach(r => { for (const k in r.up) maxUp = Math.max(maxUp, r.up[k], r.down); });
const radius = b => 3 + 10 * Math.sqrt(b / maxUp);
const serverY = 116;

let t0 = null, paused = false, pausedAt = 0, shift = 0;
const roundMs = P.phases.reduce((s, p) => s + P.phaseMs[p], 0);
const endPause = 1800;
const cycleMs = D.rounds.length * roundMs + endPause;

function ease(x) { return x < 0.5 ? 2 * x * x : 1 - Math.pow(-2 * x + 2, 2) / 2; }

function draw(now) {
  if (t0 === null) t0 = now;
  const t = paused ? pausedAt : (now - t0 - shift) % cycleMs;
  if (!D.rounds.length) { caption.textContent = T.no_rounds; return; }
  let ri = Math.min(Math.floor(t / roundMs), D.rounds.length - 1);
  const atEnd = t >= D.rounds.length * roundMs;
  let inRound = atEnd ? roundMs - 1 : t - ri * roundMs;
  const R = D.rounds[ri];
  // which phase, and how far through it
  let acc = 0, phase = P.phases[P.phases.length - 1], f = 1;
  for (const p of P.phases) {
    if (inRound < acc + P.phaseMs[p]) { phase = p; f = (inRound - acc) / P.phaseMs[p]; break; }
    acc += P.phaseMs[p];
  }
  const pi = P.phases.indexOf(phase);
  chips.forEach((c, i) => c.setAttribute("class", "chip" + (i === pi ? " on" : i < pi ? " done" : "")));
  const sampled = new Set(R.sampled), dropped = new Set(R.dropped), rejected = new Set(R.rejected);
  for (const id in devs) {
    const v = devs[id], k = +id;
    let cls = "dev " + (sampled.has(k) ? "sampled" : "idle");
    if (dropped.has(k) && pi >= P.phases.indexOf("upload")) cls += " dropped";
    v.g.setAttribute("class", cls);
    const training = phase === "train" && sampled.has(k);
    v.ring.setAttribute("r", training ? 16 + 6 * Math.sin(f * Math.PI * 4) : 0);
    const l = R.loss[id];
    v.loss.textContent = (sampled.has(k) && pi >= P.phases.indexOf("train") && !dropped.has(k)
                          && l !== null && l !== undefined) ? T.loss + " " + l.toFixed(2) : "";
  }
  // travelling dots
  while (dots.firstChild) dots.removeChild(dots.firstChild);
  const e = ease(Math.max(0, Math.min(1, f)));
  if (phase === "broadcast") {
    R.sampled.forEach(k => { const v = devs[k]; if (!v) return;
      el("circle", {cx: W / 2 + (v.cx - W / 2) * e, cy: serverY + (dy - 26 - serverY) * e,
                    r: radius(R.down), fill: "#1565c0", opacity: 0.85}, dots); });
  }
  if (phase === "upload" || phase === "aggregate") {
    R.sampled.forEach(k => { const v = devs[k]; if (!v || dropped.has(k)) return;
      const b = R.up[k] || 0;
      let x, y;
      if (phase === "upload") { x = v.cx + (W / 2 - v.cx) * e; y = dy - 26 + (serverY - dy + 26) * e; }
      else { x = W / 2 + (v.cx - W / 2) * 0.1 * (1 - e); y = serverY - 18 * e; }
      const bad = rejected.has(k);
      el("circle", {cx: x, cy: y, r: radius(b), fill: bad ? "#c62828" : v.color,
                    opacity: phase === "aggregate" ? 1 - 0.7 * e : 0.9}, dots); });
  }
  server.setAttribute("class", "server" + ((phase === "aggregate" || phase === "update") ? " pulse" : ""));
  // the metric ticks from the previous round's value to this one's during "evaluate"
  const prev = ri === 0 ? D.initial : D.rounds[ri - 1].metric;
  let shown = prev;
  if (pi > P.phases.indexOf("evaluate") - 1) shown = phase === "evaluate" ? prev + (R.metric - prev) * e : R.metric;
  if (atEnd) shown = R.metric;
  metricText.textContent = fmtMetric(shown);
  const done = D.rounds.slice(0, phase === "evaluate" || atEnd ? ri + 1 : ri);
  const vals = [D.initial].concat(done.map(r => r.metric));
  const all = [D.initial].concat(D.rounds.map(r => r.metric));
  const lo = Math.min.apply(null, all), hi = Math.max.apply(null, all);
  spark.setAttribute("points", vals.map((v, i) =>
    (W / 2 + 150 + i * 140 / Math.max(D.rounds.length, 1)).toFixed(1) + "," +
    (110 - 44 * (hi > lo ? (v - lo) / (hi - lo) : 0.5)).toFixed(1)).join(" "));
  const phaseMs = R.ms[phase];
  caption.textContent = T.round.replace("{round}", R.round).replace("{total}", D.rounds.length)
    + " · " + T["phase." + phase] + " — " + T["what." + phase]
    + (phaseMs !== undefined ? " " + T.engine_ms.replace("{ms}", phaseMs.toFixed(1)) : "")
    + (paused ? "  ‖ " + T.paused : "");
  svg.setAttribute("data-round", R.round);
  svg.setAttribute("data-phase", phase);
}
function loop(now) { draw(now); requestAnimationFrame(loop); }
svg.addEventListener("click", () => {
  const now = performance.now();
  if (!paused) { pausedAt = (now - (t0 || now) - shift) % cycleMs; paused = true; }
  else { shift = now - (t0 || now) - pausedAt; paused = false; }
});
if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
  paused = true; pausedAt = D.rounds.length * roundMs; draw(performance.now());
} else {
  requestAnimationFrame(loop);
}
</script></body></html>
"""
