// synthdb serve: the purpose preset on the new-model form, live job progress and the
// training curve. No libraries; the page works without it, only less alive.
"use strict";

(function () {
  function $(id) { return document.getElementById(id); }

  // ---- new-model form: a purpose fills max epochs and the NULL policy until edited by hand
  var form = $("model-form");
  if (form) {
    var presets = JSON.parse(form.getAttribute("data-presets") || "{}");
    var touched = {};
    ["max_epochs", "nulls"].forEach(function (name) {
      var field = $(name);
      if (field) field.addEventListener("input", function () { touched[name] = true; });
    });
    $("purpose").addEventListener("change", function (event) {
      var preset = presets[event.target.value];
      if (!preset) return;
      if (!touched.max_epochs) $("max_epochs").value = preset.max_epochs;
      if (!touched.nulls) $("nulls").value = preset.nulls;
    });
  }

  // ---- a field's error goes away once the field is edited
  document.querySelectorAll(".field-error").forEach(function (message) {
    var field = document.getElementById(message.id.replace(/^error-/, ""));
    if (field) field.addEventListener("input", function () { message.hidden = true; });
  });

  // ---- local times
  document.querySelectorAll("[data-time]").forEach(function (cell) {
    var seconds = parseFloat(cell.getAttribute("data-time"));
    if (seconds) cell.textContent = new Date(seconds * 1000).toLocaleString();
  });

  // ---- job page: poll the job's JSON, update the numbers and redraw the curve
  var job = $("job");
  if (!job) return;
  var id = job.getAttribute("data-job");
  var curveBox = $("curve");

  function fixed(value, digits) {
    return value === null || value === undefined ? "-" : Number(value).toFixed(digits);
  }

  function show(data) {
    var p = data.progress || {};
    $("status").textContent = data.status;
    $("status").className = "status status-" + data.status;
    $("phase").textContent = data.status === "failed" ? "" : (p.phase || "");
    function put(name, text) { var node = $(name); if (node) node.textContent = text; }
    if (p.max_epochs) put("m-epoch", (p.epoch || 0) + " / " + p.max_epochs);
    put("m-accuracy", fixed(p.val_accuracy, 4));
    put("m-loss", fixed(p.loss, 4));
    put("m-epsilon", p.epsilon === null || p.epsilon === undefined ? "-" : Number(p.epsilon).toPrecision(4));
    if (p.rows_written !== undefined) {
      put("m-rows", Number(p.rows_written).toLocaleString("en") +
        (p.rows_total ? " of " + Number(p.rows_total).toLocaleString("en") : ""));
    }
    var bar = $("bar");
    if (data.status === "succeeded") {
      bar.value = 1;
    } else if (p.rows_total) {
      bar.value = p.rows_written / p.rows_total;
    } else if (p.max_epochs && p.steps_per_epoch) {
      bar.value = ((p.epoch - 1) * p.steps_per_epoch + (p.step || 0)) / (p.max_epochs * p.steps_per_epoch);
    }
    if (data.error && data.status !== "cancelled") { $("error").textContent = data.error; $("error").hidden = false; }
    if (curveBox && p.curve) draw(curveBox, p.curve);
  }

  function poll() {
    fetch("/jobs/" + id + "/progress.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(poll, 3000); return; }
        show(data);
        if (data.status === "queued" || data.status === "running") {
          setTimeout(poll, 1000);
        } else if (job.getAttribute("data-status") !== data.status) {
          window.location.reload(); // the finished page has the links to the result
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  // Server-Sent Events where the browser has them (every current one); polling otherwise, and
  // if the stream breaks (a proxy that buffers it, a restart)
  function listen() {
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource("/jobs/" + id + "/events");
    source.onmessage = function (event) {
      var data = JSON.parse(event.data);
      show(data);
      if (data.status !== "queued" && data.status !== "running") {
        source.close();
        if (job.getAttribute("data-status") !== data.status) window.location.reload();
      }
    };
    source.onerror = function () { source.close(); setTimeout(poll, 1000); };
  }

  // ---- the training curve: validation accuracy (left axis) and loss (right axis) per epoch
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw(box, curve) {
    var W = 720, H = 280, L = 52, R = 52, T = 30, B = 34;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "training curve" });
    var n = curve.length;
    if (!n) { box.textContent = "The curve appears after the first epoch."; return; }
    var acc = curve.map(function (c) { return c.val_accuracy; });
    var loss = curve.map(function (c) { return c.loss; });
    function range(values) {
      var v = values.filter(function (x) { return x !== null && x !== undefined; });
      if (!v.length) return null;
      var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
      if (hi - lo < 1e-9) { lo -= 0.01; hi += 0.01; }
      return [lo, hi];
    }
    var ra = range(acc), rl = range(loss);
    function x(i) { return L + (n === 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1)); }
    function y(v, r) { return T + (1 - (v - r[0]) / (r[1] - r[0])) * (H - T - B); }
    for (var g = 0; g <= 4; g++) {
      var gy = T + g * (H - T - B) / 4;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: gy, y2: gy, "class": "grid" }));
      if (ra) svg.appendChild(el("text", { x: L - 6, y: gy + 4, "text-anchor": "end" }, (ra[1] - g * (ra[1] - ra[0]) / 4).toFixed(3)));
      if (rl) svg.appendChild(el("text", { x: W - R + 6, y: gy + 4 }, (rl[1] - g * (rl[1] - rl[0]) / 4).toFixed(3)));
    }
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }));
    var step = Math.max(1, Math.ceil(n / 10));
    for (var i = 0; i < n; i += step) {
      svg.appendChild(el("text", { x: x(i), y: H - B + 16, "text-anchor": "middle" }, String(curve[i].epoch)));
    }
    svg.appendChild(el("text", { x: (W) / 2, y: H - 4, "text-anchor": "middle" }, "epoch"));
    function line(values, r, cls) {
      if (!r) return;
      var pts = [];
      values.forEach(function (v, k) { if (v !== null && v !== undefined) pts.push(x(k).toFixed(1) + "," + y(v, r).toFixed(1)); });
      svg.appendChild(el("polyline", { points: pts.join(" "), "class": cls }));
      values.forEach(function (v, k) { if (v !== null && v !== undefined) svg.appendChild(el("circle", { cx: x(k), cy: y(v, r), r: 3, "class": cls })); });
    }
    line(acc, ra, "acc");
    line(loss, rl, "loss");
    svg.appendChild(el("text", { x: L, y: T - 16 }, ra ? "validation accuracy (solid)" : ""));
    svg.appendChild(el("text", { x: W - R, y: T - 16, "text-anchor": "end" }, rl ? "loss (dashed)" : ""));
    box.replaceChildren(svg);
  }

  if (curveBox) {
    try { draw(curveBox, JSON.parse(curveBox.getAttribute("data-curve") || "[]")); } catch (e) { /* drawn on the next poll */ }
  }
  var status = job.getAttribute("data-status");
  if (status === "queued" || status === "running") listen();
})();
