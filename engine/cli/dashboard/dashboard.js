// faultline dashboard: listens to /v1/dashboard/events (Server-Sent Events;
// the server sends one snapshot per connection and the browser reconnects
// after `retry`, so every update is a fresh, consistent snapshot) and renders
// it.  No framework, no network access beyond this server.
"use strict";
(function () {
  var prev = null, prevAt = 0, history = {};
  var $ = function (id) { return document.getElementById(id); };
  function text(el, s) { el.textContent = s; return el; }
  function cell(tr, s, num) { var td = document.createElement("td"); text(td, s); if (num) td.className = "num"; tr.appendChild(td); return td; }
  function fill(id, rows) {
    var tb = $(id).querySelector("tbody");
    while (tb.firstChild) tb.removeChild(tb.firstChild);
    rows.forEach(function (r) { tb.appendChild(r); });
  }
  // Prometheus text exposition -> [{name, labels, value}]
  function parseProm(t) {
    var out = [];
    t.split("\n").forEach(function (line) {
      if (!line || line[0] === "#") return;
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
      if (!m) return;
      var labels = {};
      if (m[3]) m[3].replace(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g, function (_, k, v) { labels[k] = v.replace(/\\(.)/g, function (_, c) { return c === "n" ? "\n" : c; }); });
      out.push({ name: m[1], labels: labels, value: parseFloat(m[4]) });
    });
    return out;
  }
  function spark(values) {
    var w = 80, h = 18, max = Math.max.apply(null, values.concat([1]));
    var pts = values.map(function (v, i) { return (values.length < 2 ? 0 : i * w / (values.length - 1)).toFixed(1) + "," + (h - 1 - v * (h - 2) / max).toFixed(1); });
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "recent counts: " + values.join(", "));
    var pl = document.createElementNS(ns, "polyline"); pl.setAttribute("points", pts.join(" "));
    svg.appendChild(pl);
    return svg;
  }
  var symbols = { closed: "●", open: "▲", half_open: "◆", forced_open: "■", disabled: "○" };
  function render(s) {
    var now = Date.now(), dt = prevAt ? (now - prevAt) / 1000 : 0;
    var m = parseProm(s.metrics || "");
    var cur = {}, total = 0, prevTotal = 0;
    var rows = [];
    m.filter(function (x) { return x.name === "faultline_decisions_total"; }).forEach(function (x) {
      var k = x.labels.category + "/" + x.labels.action;
      cur[k] = x.value; total += x.value;
      var before = prev && prev[k] !== undefined ? prev[k] : x.value;
      var tr = document.createElement("tr");
      tr.setAttribute("data-category", x.labels.category);
      cell(tr, x.labels.category); cell(tr, x.labels.action); cell(tr, String(x.value), true);
      cell(tr, dt > 0 ? ((x.value - before) / dt).toFixed(1) : "–", true);
      rows.push(tr);
    });
    if (prev) Object.keys(prev).forEach(function (k) { prevTotal += prev[k]; });
    fill("decisions", rows);
    text($("rate-total"), dt > 0 && prev ? ((total - prevTotal) / dt).toFixed(1) : "–");
    var rel = m.filter(function (x) { return x.name === "faultline_policy_reloads_total"; })
      .map(function (x) { return x.labels.result + " " + x.value; });
    text($("reloads"), rel.join(", ") || "–");
    var cp = s.policy && s.policy.current;
    text($("policy-name"), cp ? cp.name + " " + (cp.version || "") : "none loaded");
    text($("policy-id"), cp ? cp.id : "–");
    fill("versions", ((s.policy && s.policy.versions) || []).slice().reverse().slice(0, 5).map(function (v) {
      var tr = document.createElement("tr");
      cell(tr, v.id); cell(tr, v.name || ""); cell(tr, v.version || "");
      cell(tr, v.loaded_at_ms ? new Date(v.loaded_at_ms).toISOString().replace(".000", "") : ""); cell(tr, v.current ? "yes (serving)" : "no");
      return tr;
    }));
    fill("failures", m.filter(function (x) { return x.name === "faultline_handler_failures_total"; }).map(function (x) {
      var tr = document.createElement("tr"); cell(tr, x.labels.kind); cell(tr, String(x.value), true); return tr;
    }));
    fill("breakers", (s.breakers || []).map(function (b) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-breaker", b.name);
      cell(tr, b.name);
      var td = cell(tr, (symbols[b.state] || "") + " " + b.state.replace("_", " "));
      td.className = "state-" + b.state;
      cell(tr, String(b.calls), true); cell(tr, String(b.failures), true);
      return tr;
    }));
    if (s.top === null) text($("top-note"), "Start the server with --registry F to see fingerprints.");
    else text($("top-note"), "");
    fill("top", (s.top || []).map(function (r) {
      var h = history[r.fingerprint] || (history[r.fingerprint] = []);
      h.push(r.count); if (h.length > 30) h.shift();
      var tr = document.createElement("tr");
      tr.setAttribute("data-fingerprint", r.fingerprint);
      var code = document.createElement("code"); text(code, r.fingerprint);
      var td = document.createElement("td"); td.appendChild(code); tr.appendChild(td);
      cell(tr, String(r.count), true); cell(tr, String(r.last_1m), true);
      cell(tr, r.category); cell(tr, r.op || "–");
      var sp = document.createElement("td"); sp.appendChild(spark(h)); tr.appendChild(sp);
      return tr;
    }));
    text($("status"), "Live — updated " + new Date(now).toLocaleTimeString() + " (" + total + " decisions so far)");
    document.body.setAttribute("data-decisions", String(total));
    prev = cur; prevAt = now;
  }
  var es = new EventSource("/v1/dashboard/events");
  es.addEventListener("snapshot", function (e) {
    try { render(JSON.parse(e.data)); } catch (err) { text($("status"), "Bad update: " + err); }
  });
  es.onerror = function () { if (es.readyState === 2) text($("status"), "Disconnected"); };
})();
