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
  function renderService(svc, attention) {
    var box = $("service-banners");
    if (!box || !svc) { return []; }
    box.textContent = "";
    var titles = [];
    (svc.health && svc.health.warnings || []).forEach(function (w) {
      var a = el("div", "alert health");
      a.setAttribute("role", "alert");
      a.dataset.device = w.device;
      a.dataset.kind = w.kind;
      a.appendChild(el("strong", "", pick(w, "title")));
      titles.push({ text: pick(w, "title"), red: true });
      a.appendChild(el("p", "", pick(w, "todo")));
      a.appendChild(el("small", "", w.message));
      box.appendChild(a);
    });
    if (svc.scheduler && svc.scheduler.present && !svc.scheduler.running) {
      var d = el("div", "alert job");
      d.id = "scheduler-down";
      d.appendChild(el("strong", "", T.scheduler_down));
      titles.push({ text: T.scheduler_down, red: true });
      box.appendChild(d);
    }
    (svc.job_errors || []).forEach(function (j) {
      var e = el("div", "alert job");
      e.appendChild(el("strong", "", T.job_error + " (" + j.job + ")"));
      titles.push({ text: T.job_error, red: true });
      e.appendChild(el("small", "", j.message));
      box.appendChild(e);
    });
    if (svc.drill) {
      var dr = el("div", "alert drill");
      dr.id = "drill-banner";
      dr.appendChild(el("strong", "", pick(svc.drill, "text")));
      titles.push({ text: pick(svc.drill, "text"), red: false });
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
      var incTitle = pick(svc.incident, "title") || svc.incident.title || "";
      inc.appendChild(el("strong", "", svc.incident.id + " – " + incTitle));
      titles.push({ text: (incTitle || svc.incident.id) + " · " + pick(cd, "text"), red: !!cd.overdue });
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
      titles.push({ text: T.drift_title, red: svc.drifts.some(function (x) { return x.reapplied !== "done"; }) });
      var ul = el("ul");
      svc.drifts.forEach(function (ev) {
        var li = el("li", "drift-" + ev.reapplied, pick(ev, "text"));
        ul.appendChild(li);
      });
      df.appendChild(ul);
      box.appendChild(df);
    }
    if (attention && attention.length) {
      // desired state a device refuses: a person must look
      var at = el("div", "alert attention");
      at.id = "attention-banner";
      at.setAttribute("role", "alert");
      at.appendChild(el("strong", "", T.attention_title));
      titles.push({ text: T.attention_title, red: true });
      at.appendChild(el("p", "", T.attention_todo));
      var al = el("ul");
      attention.forEach(function (a) {
        al.appendChild(el("li", "", (a.host || a.target || a.device) + ": " + a.message));
      });
      at.appendChild(al);
      box.appendChild(at);
    }
    return titles;
  }
  // ------------------------------------------------------------------------------ panic page
  function stepKey(s) { return s.device + "|" + s.action + "|" + (s.target || ""); }
  function stepLabel(s) {
    var what = { cut_wan: "Internet", wlan_off: "WLAN", block_host: s.host || s.target };
    return s.device + ": " + (what[s.action] || s.action);
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
  function hhmm(ts) {
    if (!ts) { return ""; }
    return new Date(ts).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }
  function telHref(phone) { return "tel:" + String(phone).replace(/[^0-9+]/g, ""); }
  function setCall(a, label, contact) {
    if (!a) { return; }
    a.textContent = "";
    a.appendChild(el("strong", "", label));
    if (contact && contact.phone) {
      a.href = telHref(contact.phone);
      a.appendChild(el("span", "", [contact.name, contact.phone].filter(Boolean).join(" · ")));
      a.classList.remove("missing");
    } else {
      a.removeAttribute("href");
      a.appendChild(el("span", "", T.phone_missing));
      a.classList.add("missing");
    }
  }
  // Taps arriving right after a view change are the second half of a double tap: ignore them.
  var GUARD_MS = 700;
  function arm(buttons) {
    buttons.forEach(function (b) { if (b) { b.disabled = true; } });
    setTimeout(function () { buttons.forEach(function (b) { if (b) { b.disabled = false; } }); }, GUARD_MS);
  }
  function focusOn(node) { if (node) { node.focus({ preventScroll: false }); } }

  function panicPage() {
    var plans = {};
    var runProfile = "full";
    var mode = "idle";          // idle | confirm | running | result
    var tile = null;
    var polling = null, slowTimer = null, retryTimer = null;
    var PENDING = "notaus_pending_panic";
    var hostsFilled = false, checklistLoaded = false;

    function setMode(m) {
      mode = m;
      if (m === "confirm" || m === "running") { show("after", false); }
      show("confirm", m === "confirm");
      show("progress", m === "running" || m === "result");
      show("result", m === "result");
      layoutTop();
    }
    // The big area above the fold: the red button while online (or not verified), the next step once cut.
    function layoutTop() {
      var code = tile ? tile.code : "unknown";
      var cut = code === "cut" || code === "blocked";
      var idle = mode === "idle" || mode === "result";
      show("start", idle && !cut);
      show("next-step", idle && cut);
      show("panic-again", code === "blocked");
    }
    function renderTile(s) {
      var t = s.tile || {};
      tile = t;
      var box = $("tile");
      box.className = "tile " + t.code;
      box.dataset.code = t.code;
      $("tile-state").textContent = T["tile_" + t.code] || t.code;
      var parts = [];
      if (t.code === "online") { parts.push(T.tile_online_sub); }
      if (t.code === "unknown") { parts.push(T.tile_unknown_sub); }
      if (t.since && t.code !== "online") { parts.push(T.tile_since + " " + hhmm(t.since)); }
      if (t.code === "cut" || t.code === "blocked") { parts.push(T.tile_verified); }
      if (t.code === "partial") { parts.push(T.tile_unverified); }
      if (t.code === "blocked") {
        parts.push((t.kept_roles || []).indexOf("ti-konnektor") >= 0 ? T.tile_kept_phone_ti : T.tile_kept_phone);
      }
      if (t.isolated) {
        parts.push(t.isolated === 1 ? T.tile_isolated_one : T.tile_isolated_many.replace("{n}", t.isolated));
      }
      $("tile-line").textContent = parts.join(" · ");
      layoutTop();
    }
    function renderFold(svc, attention) {
      var titles = renderService(svc, attention);
      var fold = $("banner-fold");
      fold.hidden = !titles.length;
      fold.classList.toggle("red", titles.some(function (x) { return x.red; }));
      $("banner-summary").textContent = titles.length + " " + (titles.length === 1 ? T.banners_one : T.banners_more) + ": " +
        titles.map(function (x) { return x.text; }).join(" · ");
    }
    function renderAfter(s) {
      var t = s.tile || {};
      var active = t.code !== "online" || t.isolated > 0 || !!(s.service && s.service.incident) || mode === "result";
      show("after", active && mode !== "confirm" && mode !== "running");
      var contacts = boot.contacts || s.contacts || {};
      setCall($("call-provider"), T.call_provider, contacts.it_provider);
      setCall($("call-dpo"), T.call_dpo, contacts.data_protection_officer);
      setCall($("next-call"), T.call_provider, contacts.it_provider);
      var lines = $("verdict-lines");
      lines.textContent = "";
      (t.wan || []).forEach(function (d) {
        lines.appendChild(el("li", t.verified || t.code === "online" ? "ok" : "bad",
          T.verdict_line.replace("{device}", d.device).replace("{wan}", T["val_" + d.wan] || d.wan)
            .replace("{wlan}", T["val_" + d.wlan] || d.wlan).replace("{time}", hhmm(s.generated))));
      });
      (s.isolations || []).forEach(function (i) {
        lines.appendChild(el("li", i.verified ? "ok" : "bad",
          (i.verified ? T.block_one_done : T.block_one_failed).replace("{host}", i.host)));
      });
      show("verdict", lines.children.length > 0);
      if (s.service && s.service.incident) {
        $("note-link").href = s.service.incident.url + "?lang=" + lang + "#note";
      }
      if (active && !hostsFilled) { fillHosts(); }
      if (active && !checklistLoaded) { checklistLoaded = true; loadChecklist(); }
    }
    function fillHosts() {
      var sel = $("block-host");
      if (!sel) { return; }
      hostsFilled = true;
      (boot.hosts || []).forEach(function (h) {
        var o = el("option", "", h.name + " (" + (T["role_" + h.role] || h.role) + ")");
        o.value = h.name;
        o.disabled = !!h.protected;
        sel.appendChild(o);
      });
    }
    function refresh() {
      return api("GET", "/api/v1/status").then(function (r) {
        if (r.status !== 200) { return; }
        renderTile(r.data);
        renderFold(r.data.service, r.data.attention);
        renderAfter(r.data);
      }, function () { /* offline: the run shows its own hint */ });
    }

    // ---- confirm (double-tap proof: nothing clickable under the footprint, and a short guard)
    function openConfirm(trigger) {
      var foot = trigger.getBoundingClientRect();
      var footBottom = foot.bottom + window.scrollY;
      show("error", false);
      setMode("confirm");
      ["start", "next-step"].forEach(function (id) { show(id, false); });
      ["warn-full", "warn-keep", "choice-full", "choice-keep", "confirm-choose", "wlan-notice"].forEach(
        function (id) { show(id, false); });
      show("confirm-loading", true);
      var zone = $("confirm-zone");
      zone.style.minHeight = "0px";
      var zoneTop = zone.getBoundingClientRect().top + window.scrollY;
      zone.style.minHeight = Math.max(0, Math.ceil(footBottom - zoneTop) + 24) + "px";
      arm([$("cancel")]);
      focusOn($("confirm-title"));
      var profiles = ["full", "keep-phones"];
      Promise.all(profiles.map(function (p) {
        return api("POST", "/api/v1/panic", { profile: p });
      })).then(function (rs) {
        show("confirm-loading", false);
        plans = {};
        rs.forEach(function (r, i) {
          if (r.status === 428) { plans[profiles[i]] = r.data; }
          else if (i === 0) { fail(r.data.detail || T.error_network); }
        });
        if (mode !== "confirm") { return; }
        fillWarnings("warnings-full", plans.full);
        show("warn-full", !!plans.full);
        show("choice-full", !!plans.full);
        var keep = plans.full && plans.full.keep_phones_available && plans["keep-phones"] &&
          !(tile && tile.code === "blocked");
        if (keep) { fillWarnings("warnings-keep", plans["keep-phones"]); }
        show("warn-keep", !!keep);
        show("choice-keep", !!keep);
        var wlan = [plans.full, plans["keep-phones"]].some(function (p) {
          return p && p.plan && (p.plan.steps || []).some(function (s) { return s.action === "wlan_off"; });
        });
        show("wlan-notice", wlan);
        show("confirm-choose", !!plans.full);
        // the zone may have grown: buttons always start below the old button's footprint
        arm([$("confirm-full"), $("confirm-keep"), $("cancel")]);
      }, function () { show("confirm-loading", false); fail(T.error_network); });
    }
    function fail(msg) {
      var e = $("error");
      e.textContent = msg;
      e.hidden = false;
      show("confirm-loading", false);
      focusOn(e);
    }
    $("panic-button").addEventListener("click", function (ev) { openConfirm(ev.currentTarget); });
    $("panic-again").addEventListener("click", function (ev) { openConfirm(ev.currentTarget); });
    $("cancel").addEventListener("click", function () { setMode("idle"); focusOn($("tile-state")); });
    $("confirm-full").addEventListener("click", function () { run("full"); });
    $("confirm-keep").addEventListener("click", function () { run("keep-phones"); });

    function fillWarnings(id, plan) {
      var ul = $(id);
      ul.textContent = "";
      var ws = (plan && plan.warnings) || [];
      if (!ws.length) { ul.appendChild(el("li", "", T.warnings_none)); }
      ws.forEach(function (w) { ul.appendChild(el("li", "warning-" + w.code, warnText(w))); });
    }

    // ---- run: live progress from the journal; survives the WLAN going away
    function routerHint() { return boot.router_hint ? " " + T.router_where + " " + boot.router_hint : ""; }
    function stopTimers() {
      [polling, retryTimer].forEach(function (x) { if (x) { clearInterval(x); } });
      if (slowTimer) { clearTimeout(slowTimer); }
      polling = retryTimer = slowTimer = null;
    }
    function startRun(profile, key) {
      runProfile = profile;
      setMode("running");
      $("progress-title").textContent = profile === "keep-phones" ? T.progress_keep : T.progress_title;
      // until the box answers, the tile must not keep saying ONLINE
      $("tile").className = "tile partial";
      $("tile").dataset.code = "running";
      $("tile-state").textContent = profile === "keep-phones" ? T.progress_keep : T.progress_title;
      $("tile-line").textContent = T.tile_unverified;
      show("start", false);
      show("next-step", false);
      show("lost-hint", false);
      show("slow-hint", false);
      slowTimer = setTimeout(function () {
        var h = $("slow-hint");
        h.textContent = T.slow_hint + routerHint();
        h.hidden = false;
      }, 3000);
      api("GET", "/api/v1/journal?limit=1&after=999999999").then(function (h) {
        var after = (h.data && h.data.head) || 0;
        polling = setInterval(function () {
          api("GET", "/api/v1/journal?kind=device.result&limit=200&after=" + after).then(function (r) {
            if (r.status !== 200) { return; }
            r.data.entries.forEach(function (e) {
              if (e.data.operation === "panic") { setStep(e.data, e.data.outcome); }
            });
            after = r.data.next_after;
          }, function () { /* the WLAN may be gone; the retry loop brings the result */ });
        }, 300);
      }, function () { /* idem */ });
      send(profile, key);
    }
    function send(profile, key) {
      api("POST", "/api/v1/panic", { profile: profile, confirm: true }, key).then(function (r) {
        if (r.status === 409 && r.data && r.data.error === "idempotency_in_progress") { return lost(profile, key); }
        try { localStorage.removeItem(PENDING); } catch (e) { /* private mode */ }
        stopTimers();
        showResult(r);
      }, function () { lost(profile, key); });
    }
    function lost(profile, key) {
      show("lost-hint", true);
      if (retryTimer) { return; }
      retryTimer = setInterval(function () {
        api("POST", "/api/v1/panic", { profile: profile, confirm: true }, key).then(function (r) {
          if (r.status === 409 && r.data && r.data.error === "idempotency_in_progress") { return; }
          try { localStorage.removeItem(PENDING); } catch (e) { /* private mode */ }
          stopTimers();
          showResult(r);
        }, function () { /* still offline */ });
      }, 2000);
    }
    function run(profile) {
      var key = newKey();
      runProfile = profile;
      try { localStorage.setItem(PENDING, JSON.stringify({ profile: profile, key: key })); } catch (e) { /* */ }
      $("steps").textContent = "";
      var plan = plans[profile] && plans[profile].plan;
      ((plan && plan.steps) || []).forEach(function (s) { setStep(s, "running"); });
      startRun(profile, key);
    }
    function showResult(r) {
      var d = r.data || {};
      (d.devices || []).forEach(function (s) { setStep(s, s.outcome); });
      var outcome = d.outcome || (r.status === 409 ? "refused" : "failed");
      $("progress-title").textContent = T.devices;
      show("slow-hint", false);
      show("lost-hint", false);
      var banner = $("result-banner");
      banner.className = "banner " + outcome;
      banner.dataset.outcome = outcome;
      var keep = runProfile === "keep-phones" && (outcome === "done" || outcome === "partial");
      banner.textContent = (keep ? T["result_" + outcome + "_keep"] : T["result_" + outcome]) || outcome;
      var msg = "";
      if (outcome === "refused") { msg = T.refused_reason + ": " + (d.detail || d.message || ""); }
      // partial/failed say why (e.g. "zweiter Weg ins Internet", "IPv6 nicht geprüft") and which cable to pull
      if (outcome === "failed" || outcome === "partial") { msg = ((d.message || "") + " " + routerHint()).trim(); }
      else if (outcome === "done" && /IPv6/.test(d.message || "")) { msg = d.message; }
      $("result-message").textContent = msg;
      setMode("result");
      refresh().then(function () { focusOn(banner); });
      checklistLoaded = false;
    }

    // ---- one PC
    var pendingHost = null;
    if ($("block-go")) {
      $("block-go").addEventListener("click", function () {
        pendingHost = $("block-host").value;
        if (!pendingHost) { return; }
        $("block-question").textContent = T.block_one_confirm.replace("{host}", pendingHost);
        show("block-confirm", true);
        show("block-result", false);
        arm([$("block-yes"), $("block-no")]);
        focusOn($("block-question"));
      });
      $("block-no").addEventListener("click", function () { show("block-confirm", false); focusOn($("block-go")); });
      $("block-yes").addEventListener("click", function () {
        var host = pendingHost;
        show("block-confirm", false);
        var res = $("block-result");
        res.className = "banner unknown";
        res.textContent = T.restore_running;
        res.hidden = false;
        api("POST", "/api/v1/isolations", { host: host, reason: $("block-reason").value.trim(), source: "staff" },
          newKey()).then(function (r) {
          var outcome = (r.data && r.data.outcome) || (r.status === 409 ? "refused" : "failed");
          res.className = "banner " + outcome;
          res.dataset.outcome = outcome;
          res.textContent = outcome === "done" ? T.block_one_done.replace("{host}", host) :
            outcome === "refused" ? T.result_refused + ": " + (r.data.detail || "") :
              T.block_one_failed.replace("{host}", host);
          focusOn(res);
          refresh();
        }, function () { fail(T.error_network); });
      });
    }

    // a run the WLAN cut short: fetch its result with the same key once this device is back
    var pending = null;
    try { pending = JSON.parse(localStorage.getItem(PENDING) || "null"); } catch (e) { pending = null; }
    refresh();
    setInterval(function () { if (mode !== "running") { refresh(); } }, 3000);
    if (pending && pending.key) {
      startRun(pending.profile, pending.key);
    }
  }

  // ------------------------------------------------------------------------------ status page
  function statusPage() {
    var releaseDrafts = {};
    var lastSig = { iso: null, pend: null };
    var can = {};
    boot.permissions.forEach(function (p) { can[p] = true; });
    function refresh() {
      api("GET", "/api/v1/status").then(function (r) {
        if (r.status !== 200) { fail(r.data.detail || T.error_network); return; }
        show("error", false);
        var s = r.data;
        renderService(s.service, s.attention);
        stage(s);
        var state = $("state");
        state.className = "banner " + s.state_code;
        // keep-phones blocks the PCs but leaves the internet on: never call that "getrennt"
        state.textContent = s.tile && s.tile.code === "blocked" ? T.state_blocked : (T["state_" + s.state_code] || s.state);
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
        // re-render only on change: a provider typing a release reason keeps focus and text
        var isoSig = JSON.stringify(s.isolations.map(function (i) { return [i.host, i.verified, i.reason]; }));
        var pendSig = JSON.stringify(s.pending_approvals.map(function (p) { return p.id; }));
        if (isoSig === lastSig.iso && pendSig === lastSig.pend) { return; }
        lastSig.iso = isoSig;
        lastSig.pend = pendSig;
        iso.textContent = "";
        if (!s.isolations.length) { iso.appendChild(el("li", "", T.none)); }
        s.isolations.forEach(function (i) {
          var li = el("li", i.verified ? "ok" : "bad", i.host + (i.ip ? " (" + i.ip + ")" : "") +
            " · " + (T["source_" + i.source] || i.source || "") + (i.reason ? " · " + i.reason : ""));
          li.dataset.host = i.host;
          if (can.release) {
            // releasing one machine asks its own reason (never the restore reason above)
            var wrap = el("div", "release-row");
            var rid = "release-reason-" + i.host.replace(/[^A-Za-z0-9_-]/g, "_");
            var lab = el("label", "", T.release_reason.replace("{host}", i.host));
            lab.htmlFor = rid;
            var input = el("input");
            input.type = "text";
            input.id = rid;
            input.maxLength = 500;
            input.autocomplete = "off";
            if (releaseDrafts[i.host]) { input.value = releaseDrafts[i.host]; }
            input.addEventListener("input", function () { releaseDrafts[i.host] = input.value; });
            var b = el("button", "plain small", T.release);
            b.dataset.release = i.host;
            b.addEventListener("click", function () {
              var reason = input.value.trim();
              input.classList.toggle("missing", !reason);
              if (!reason) { input.focus(); fail(T.restore_reason_missing); return; }
              show("error", false);
              b.disabled = true;
              delete releaseDrafts[i.host];
              runOp("DELETE", "/api/v1/isolations/" + encodeURIComponent(i.host), { reason: reason }, b);
            });
            wrap.appendChild(lab);
            wrap.appendChild(input);
            wrap.appendChild(b);
            li.appendChild(wrap);
          }
          iso.appendChild(li);
        });
        var pend = $("pending");
        pend.textContent = "";
        if (!s.pending_approvals.length) { pend.appendChild(el("li", "", T.none)); }
        s.pending_approvals.forEach(function (p) {
          var li = el("li", "pending" + (p.critical ? " critical" : ""));
          li.dataset.request = p.id;
          li.dataset.role = p.role || "unknown";
          var role = T["role_" + p.role] || p.role || T.role_unknown;
          li.appendChild(el("strong", "what", p.host + " – " + T.pending_role + ": " + role));
          li.appendChild(el("span", "who", p.agent + (p.reason ? " · " + p.reason : "")));
          if (p.critical) {
            var what = T["critical_" + p.role] || T.critical_other;
            var w = el("p", "critical-warning", T.pending_critical.replace("{role}", role).replace("{what}", what));
            w.setAttribute("role", "note");
            li.appendChild(w);
          }
          if (can.approve) {
            var row = el("div", "row decide");
            // equal weight: same size, same style; the machine's role decides, not the colour
            [["approve", T.approve], ["reject", T.reject]].forEach(function (d) {
              var b = el("button", "plain half", d[1]);
              b.dataset.decision = d[0];
              b.addEventListener("click", function () {
                api("POST", "/api/v1/approvals/" + p.id, { decision: d[0] }, newKey()).then(refresh);
              });
              row.appendChild(b);
            });
            li.appendChild(row);
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

  // ------------------------------------------------------------------------------ incident page
  function incidentPage() {
    // photo preview before uploading (a data: URL, allowed by the CSP; nothing leaves the device)
    var file = $("photo-file");
    var preview = $("photo-preview");
    if (file && preview) {
      file.addEventListener("change", function () {
        var f = file.files && file.files[0];
        if (!f) { preview.hidden = true; return; }
        var reader = new FileReader();
        reader.onload = function () {
          preview.src = reader.result;
          preview.alt = f.name;
          preview.hidden = false;
        };
        reader.readAsDataURL(f);
      });
    }
    // after a form post the page comes back at the changed item; move focus to the confirmation
    var saved = $("saved");
    if (saved) { saved.focus({ preventScroll: true }); }   // the anchor already shows the changed place
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        times[i].textContent = d.toLocaleString(lang, { day: "2-digit", month: "2-digit", year: "numeric",
          hour: "2-digit", minute: "2-digit" });
      }
    }
  }

  var page = document.body.dataset.page;
  if (page === "panic") { panicPage(); }
  if (page === "status") { statusPage(); }
  if (page === "incident") { incidentPage(); }
})();
