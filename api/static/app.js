/* notaus staff UI: vanilla JS, no dependencies, talks to /api/v1 with the session cookie. */
"use strict";

(function () {
  var boot = JSON.parse(document.getElementById("boot").textContent);
  var T = boot.t;
  var lang = boot.lang;

  function $(id) { return document.getElementById(id); }
  function show(id, on) { var el = $(id); if (el) { el.hidden = !on; } }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function cookie(name) {
    var parts = document.cookie.split(";");
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].trim().split("=");
      if (kv[0] === name) { return decodeURIComponent(kv.slice(1).join("=")); }
    }
    return "";
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }
  function api(method, path, body, key) {
    var headers = { "Accept": "application/json", "X-CSRF-Token": cookie("notaus_csrf") };
    var opts = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (key) { headers["Idempotency-Key"] = key; }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { status: r.status, data: data };
      });
    });
  }
  function warnText(w) { return lang === "en" ? w.en : w.de; }
  function fail(msg) {
    var e = $("error");
    if (e) { e.textContent = msg; e.hidden = false; }
  }

  // fill the CSRF field of plain forms (login, kiosk enrolment)
  var fields = document.querySelectorAll(".csrf-field");
  for (var f = 0; f < fields.length; f++) { fields[f].value = cookie("notaus_csrf"); }

  // ------------------------------------------------------------------------------ checklist
  function renderChecklist(state) {
    var list = $("checklist");
    if (!list) { return; }
    var done = {};
    (state || []).forEach(function (it) { done[it.id] = it; });
    list.textContent = "";
    boot.checklist.forEach(function (item) {
      var li = el("li");
      var label = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.id = "check-" + item.id;
      box.dataset.item = item.id;
      box.checked = !!(done[item.id] && done[item.id].done);
      var text = el("span", "text", item.text);
      var when = el("span", "when", done[item.id] && done[item.id].done && done[item.id].ts ?
        new Date(done[item.id].ts).toLocaleTimeString(lang) : "");
      box.addEventListener("change", function () {
        box.disabled = true;
        api("POST", "/api/v1/checklist/" + item.id, { done: box.checked }, newKey()).then(function (r) {
          box.disabled = false;
          if (r.status === 200) {
            when.textContent = r.data.done ? new Date(r.data.ts).toLocaleTimeString(lang) : "";
            li.classList.toggle("ticked", r.data.done);
          } else {
            box.checked = !box.checked;
            fail(r.data.detail || T.error_network);
          }
        }, function () { box.disabled = false; box.checked = !box.checked; fail(T.error_network); });
      });
      li.classList.toggle("ticked", box.checked);
      label.appendChild(box);
      label.appendChild(text);
      li.appendChild(label);
      li.appendChild(when);
      list.appendChild(li);
    });
  }
  function loadChecklist() {
    return api("GET", "/api/v1/checklist").then(function (r) {
      renderChecklist(r.status === 200 ? r.data.items : []);
    });
  }

  // ------------------------------------------------------------------------------ service banners
  // What the scheduler knows (device checks, enforcement, drill, reporting deadline), shown before
  // an emergency on every page that has #service-banners.
  var drillEnd = null;
  function pick(o, base) { return (lang === "en" ? o[base + "_en"] : o[base + "_de"]) || o[base + "_de"] || ""; }
  function fmtLeft(sec) {
    sec = Math.max(0, Math.floor(sec));
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return h > 0 ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  function tickDrill() {
    var c = $("drill-countdown");
    if (c && drillEnd !== null) { c.textContent = fmtLeft((drillEnd - Date.now()) / 1000); }
  }
  setInterval(tickDrill, 1000);
  function renderService(svc) {
    var box = $("service-banners");
    if (!box || !svc) { return; }
    box.textContent = "";
    (svc.health && svc.health.warnings || []).forEach(function (w) {
      var a = el("div", "alert health");
      a.setAttribute("role", "alert");
      a.dataset.device = w.device;
      a.dataset.kind = w.kind;
      a.appendChild(el("strong", "", pick(w, "title")));
      a.appendChild(el("p", "", pick(w, "todo")));
      a.appendChild(el("small", "", w.message));
      box.appendChild(a);
    });
    if (svc.scheduler && svc.scheduler.present && !svc.scheduler.running) {
      var d = el("div", "alert job");
      d.id = "scheduler-down";
      d.appendChild(el("strong", "", T.scheduler_down));
      box.appendChild(d);
    }
    (svc.job_errors || []).forEach(function (j) {
      var e = el("div", "alert job");
      e.appendChild(el("strong", "", T.job_error + " (" + j.job + ")"));
      e.appendChild(el("small", "", j.message));
      box.appendChild(e);
    });
    if (svc.drill) {
      var dr = el("div", "alert drill");
      dr.id = "drill-banner";
      dr.appendChild(el("strong", "", pick(svc.drill, "text")));
      var p = el("p", "", T.drill_left + " ");
      var c = el("span", "countdown");
      c.id = "drill-countdown";
      p.appendChild(c);
      dr.appendChild(p);
      box.appendChild(dr);
      drillEnd = Date.now() + svc.drill.seconds_left * 1000;
      tickDrill();
    } else {
      drillEnd = null;
    }
    if (svc.incident) {
      var cd = svc.incident.countdown || {};
      var inc = el("div", "alert incident" + (cd.overdue ? " overdue" : ""));
      inc.id = "incident-banner";
      inc.appendChild(el("strong", "", svc.incident.id + " – " + (svc.incident.title || "")));
      var ip = el("p", "", pick(cd, "text") + " ");
      var link = el("a", "", T.incident_open);
      link.href = svc.incident.url + "?lang=" + lang;
      ip.appendChild(link);
      inc.appendChild(ip);
      box.appendChild(inc);
    }
    if (svc.drifts && svc.drifts.length) {
      var df = el("div", "alert drift");
      df.id = "drift-banner";
      df.appendChild(el("strong", "", T.drift_title));
      var ul = el("ul");
      svc.drifts.forEach(function (ev) {
        var li = el("li", "drift-" + ev.reapplied, pick(ev, "text"));
        ul.appendChild(li);
      });
      df.appendChild(ul);
      box.appendChild(df);
    }
  }
  function pollService(every) {
    function load() {
      api("GET", "/api/v1/status").then(function (r) {
        if (r.status === 200) { renderService(r.data.service); }
      }, function () { /* the page shows network errors when the staff act */ });
    }
    load();
    setInterval(load, every);
  }

  // ------------------------------------------------------------------------------ panic page
  function stepKey(s) { return s.device + "|" + s.action + "|" + (s.target || ""); }
  function stepLabel(s) {
    var what = { cut_wan: "Internet", wlan_off: "WLAN", block_host: s.host || s.target };
    return s.device + ": " + (what[s.action] || s.action) + (s.action === "block_host" ? "" : "");
  }
  function setStep(s, outcome) {
    var li = document.querySelector('[data-step="' + CSS.escape(stepKey(s)) + '"]');
    if (!li) {
      li = el("li");
      li.dataset.step = stepKey(s);
      li.appendChild(el("span", "name", stepLabel(s)));
      li.appendChild(el("span", "state"));
      $("steps").appendChild(li);
    }
    li.className = "step " + outcome;
    li.querySelector(".state").textContent = T["dev_" + outcome] || outcome;
    if (s.message && outcome !== "done" && outcome !== "running") { li.title = s.message; }
  }

  function panicPage() {
    var plans = {};
    var polling = null;
    pollService(30000);
    $("panic-button").addEventListener("click", function () {
      show("start", false);
      show("confirm", true);
      show("error", false);
      var profiles = ["full", "keep-phones"];
      Promise.all(profiles.map(function (p) {
        return api("POST", "/api/v1/panic", { profile: p });
      })).then(function (rs) {
        show("confirm-loading", false);
        rs.forEach(function (r, i) {
          if (r.status !== 428) { fail(r.data.detail || T.error_network); return; }
          plans[profiles[i]] = r.data;
        });
        fillWarnings("warnings-full", plans.full);
        show("choice-full", !!plans.full);
        var keep = plans.full && plans.full.keep_phones_available && plans["keep-phones"];
        if (keep) { fillWarnings("warnings-keep", plans["keep-phones"]); }
        show("choice-keep", !!keep);
      }, function () { fail(T.error_network); });
    });
    $("cancel").addEventListener("click", function () { show("confirm", false); show("start", true); });
    $("confirm-full").addEventListener("click", function () { run("full"); });
    $("confirm-keep").addEventListener("click", function () { run("keep-phones"); });

    function fillWarnings(id, plan) {
      var ul = $(id);
      ul.textContent = "";
      var ws = (plan && plan.warnings) || [];
      if (!ws.length) { ul.appendChild(el("li", "", T.warnings_none)); }
      ws.forEach(function (w) { ul.appendChild(el("li", "warning-" + w.code, warnText(w))); });
    }

    function run(profile) {
      show("confirm", false);
      show("progress", true);
      $("steps").textContent = "";
      var plan = plans[profile] && plans[profile].plan;
      ((plan && plan.steps) || []).forEach(function (s) { setStep(s, "running"); });
      // live progress: device results appear in the journal as each device confirms
      api("GET", "/api/v1/journal?limit=1&after=999999999").then(function (h) {
        var after = (h.data && h.data.head) || 0;
        polling = setInterval(function () {
          api("GET", "/api/v1/journal?kind=device.result&limit=200&after=" + after).then(function (r) {
            if (r.status !== 200) { return; }
            r.data.entries.forEach(function (e) {
              if (e.data.operation === "panic") { setStep(e.data, e.data.outcome); }
            });
            after = r.data.next_after;
          });
        }, 300);
      });
      api("POST", "/api/v1/panic", { profile: profile, confirm: true }, newKey()).then(function (r) {
        if (polling) { clearInterval(polling); }
        showResult(r);
      }, function () {
        if (polling) { clearInterval(polling); }
        fail(T.error_network);
      });
    }

    function showResult(r) {
      var d = r.data || {};
      (d.devices || []).forEach(function (s) { setStep(s, s.outcome); });
      var outcome = d.outcome || (r.status === 409 ? "refused" : "failed");
      $("progress-title").textContent = T.devices;
      var banner = $("result-banner");
      banner.className = "banner " + outcome;
      banner.textContent = T["result_" + outcome] || outcome;
      // partial/failed say why (e.g. "zweiter Weg ins Internet", "IPv6 nicht geprüft", "Kabel ziehen")
      $("result-message").textContent = outcome === "refused" ? (T.refused_reason + ": " + (d.detail || d.message || "")) :
        (outcome !== "done" || /IPv6/.test(d.message || "") ? (d.message || "") : "");
      show("result", true);
      show("checklist-section", true);
      loadChecklist();
    }
  }

  // ------------------------------------------------------------------------------ status page
  function statusPage() {
    var can = {};
    boot.permissions.forEach(function (p) { can[p] = true; });
    function refresh() {
      api("GET", "/api/v1/status").then(function (r) {
        if (r.status !== 200) { fail(r.data.detail || T.error_network); return; }
        show("error", false);
        var s = r.data;
        renderService(s.service);
        stage(s);
        var state = $("state");
        state.className = "banner " + s.state_code;
        state.textContent = T["state_" + s.state_code] || s.state;
        if (s.warnings && s.warnings.length) { state.textContent += " – " + s.warnings.join(" "); }
        state.dataset.state = s.state_code;
        $("generated").textContent = new Date(s.generated).toLocaleTimeString(lang);
        var devs = $("devices");
        devs.textContent = "";
        s.devices.forEach(function (d) {
          var li = el("li", d.reachable ? "ok" : "bad");
          var parts = [d.name, d.reachable ? T.reachable : T.unreachable];
          if (d.wan && d.wan !== "unknown") { parts.push("Internet: " + (T["val_" + d.wan] || d.wan)); }
          if (d.wlan && d.wlan !== "unknown") { parts.push("WLAN: " + (T["val_" + d.wlan] || d.wlan)); }
          if (d.ports_down && d.ports_down.length) { parts.push(T.ports_off + ": " + d.ports_down.join(", ")); }
          li.textContent = parts.join(" · ");
          devs.appendChild(li);
        });
        var iso = $("isolations");
        iso.textContent = "";
        if (!s.isolations.length) { iso.appendChild(el("li", "", T.none)); }
        s.isolations.forEach(function (i) {
          var li = el("li", i.verified ? "ok" : "bad", i.host + (i.ip ? " (" + i.ip + ")" : "") +
            " · " + (i.source || "") + (i.reason ? " · " + i.reason : ""));
          li.dataset.host = i.host;
          if (can.release) {
            var b = el("button", "plain small", T.release);
            b.dataset.release = i.host;
            b.addEventListener("click", function () {
              var reason = needReason();
              if (!reason) { return; }
              b.disabled = true;
              runOp("DELETE", "/api/v1/isolations/" + encodeURIComponent(i.host), { reason: reason }, b);
            });
            li.appendChild(b);
          }
          iso.appendChild(li);
        });
        var pend = $("pending");
        pend.textContent = "";
        if (!s.pending_approvals.length) { pend.appendChild(el("li", "", T.none)); }
        s.pending_approvals.forEach(function (p) {
          var li = el("li", "pending", p.host + " · " + p.agent + (p.reason ? " · " + p.reason : ""));
          li.dataset.request = p.id;
          if (can.approve) {
            [["approve", T.approve, "danger small"], ["reject", T.reject, "plain small"]].forEach(function (d) {
              var b = el("button", d[2], d[1]);
              b.addEventListener("click", function () {
                api("POST", "/api/v1/approvals/" + p.id, { decision: d[0] }, newKey()).then(refresh);
              });
              li.appendChild(b);
            });
          }
          pend.appendChild(li);
        });
      }, function () { fail(T.error_network); });
    }
    // ---- restore (provider/admin): stage 1 internet, stage 2 PCs, isolated machines one by one
    var restore = $("restore");
    function needReason() {
      var input = $("restore-reason");
      var reason = input ? input.value.trim() : "";
      show("restore-reason-missing", !reason);
      if (input) { input.classList.toggle("missing", !reason); }
      if (!reason && input) { input.focus(); input.scrollIntoView({ block: "center" }); }
      return reason;
    }
    function stage(s) {
      if (!restore) { return; }
      // stage 2 only after the internet is back (or was never cut, e.g. "keep the phones")
      var wanDown = (s.devices || []).some(function (d) { return d.wan === "down"; });
      $("restore-hosts").disabled = wanDown;
      show("restore-hosts-wait", wanDown);
    }
    function actionLabel(d) {
      var what = T["act_" + d.action] || d.action;
      var target = d.host || d.target;
      return d.device + ": " + what + (target && d.action !== "restore_wan" && d.action !== "wlan_on" ?
        " " + target : "");
    }
    function runOp(method, path, body, button) {
      var banner = $("restore-banner");
      var list = $("restore-results");
      if (banner) {
        banner.className = "banner unknown";
        delete banner.dataset.outcome;
        banner.textContent = T.restore_running;
        banner.hidden = false;
      }
      if (list) { list.textContent = ""; }
      return api(method, path, body, newKey()).then(function (r) {
        if (button) { button.disabled = false; }
        var d = r.data || {};
        var outcome = d.outcome || (r.status === 409 ? "refused" : "failed");
        if (banner) {
          banner.className = "banner " + outcome;
          banner.dataset.outcome = outcome;
          var text = T["restore_" + outcome] || outcome;
          if (outcome === "done" && !(d.devices || []).length) { text = T.restore_nothing; }
          if (outcome === "refused") { text += ": " + (d.detail || d.message || ""); }
          banner.textContent = text;
        }
        (d.devices || []).forEach(function (dev) {
          var li = el("li", "step " + dev.outcome);
          li.appendChild(el("span", "name", actionLabel(dev)));
          li.appendChild(el("span", "state", T["dev_" + dev.outcome] || dev.outcome));
          if (dev.outcome !== "done" && dev.message) { li.title = dev.message; }
          if (list) { list.appendChild(li); }
        });
        refresh();
      }, function () { if (button) { button.disabled = false; } fail(T.error_network); });
    }
    if (restore) {
      var buttons = restore.querySelectorAll("button[data-stage]");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].addEventListener("click", function (ev) {
          var button = ev.currentTarget;
          var reason = needReason();
          if (!reason) { return; }
          button.disabled = true;
          runOp("POST", "/api/v1/restore", { reason: reason, stage: button.dataset.stage }, button);
        });
      }
      $("restore-reason").addEventListener("input", function () {
        if (this.value.trim()) { show("restore-reason-missing", false); this.classList.remove("missing"); }
      });
    }
    refresh();
    setInterval(refresh, 3000);
    loadChecklist();
  }

  var page = document.body.dataset.page;
  if (page === "panic") { panicPage(); }
  if (page === "status") { statusPage(); }
})();
