// The patient's page: one bill, opened with the link the hospital sent (?t=). It talks only to
// medpay's /patient/api, shows one screen per step with one main action, and keeps nothing on the
// device but two preferences (care mode, language). No framework: a hospital can restyle it with
// app.css alone.
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var token = params.get("t") || "";
  var screen = document.getElementById("screen");
  var notice = document.getElementById("notice");
  var careButton = document.getElementById("care");
  var langButton = document.getElementById("lang");
  var speakButton = document.getElementById("speak");
  var words = {};
  var view = null;
  var busy = false;
  var pollTimer = null;
  var backFromCashier = params.get("cashier") === "done";

  function store(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }
  function stored(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  // Money arrives in fen (integers) and is shown in yuan without floating point.
  function yuan(fen) {
    var neg = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var cents = String(fen % 100);
    return t("yuan", { amount: neg + Math.floor(fen / 100) + "." + (cents.length < 2 ? "0" + cents : cents) });
  }

  function t(key, values) {
    var s = words[key] || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "onclick") e.addEventListener("click", attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  var ICONS = {
    good: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
    bad: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2zm0-4h-2V7h2z",
    card: "M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2zm0 14H4v-6h16zm0-10H4V6h16z",
    shield: "M12 1 3 5v6c0 5.6 3.8 10.7 9 12 5.2-1.3 9-6.4 9-12V5z"
  };
  function icon(name, cls) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon " + (cls || ""));
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function primary(label, action, iconName) {
    return el("button", { type: "button", id: "primary", class: "primary", onclick: function (ev) {
      if (busy) return; // a double tap acts once
      busy = true;
      ev.currentTarget.setAttribute("disabled", "disabled");
      Promise.resolve(action()).finally(function () { busy = false; });
    } }, [iconName ? icon(iconName) : null, el("span", { text: label })]);
  }
  function secondary(label, action) {
    return el("button", { type: "button", id: "secondary", class: "plain secondary", onclick: function () {
      if (busy) return;
      busy = true;
      Promise.resolve(action()).finally(function () { busy = false; });
    } }, [el("span", { text: label })]);
  }

  function show(step, nodes) {
    screen.setAttribute("data-step", step);
    screen.replaceChildren.apply(screen, nodes);
  }

  function waiting(step, title, hint) {
    show(step, [el("div", { class: "spinner", role: "img", "aria-label": title }), el("h1", { text: title }), el("p", { class: "status", text: hint })]);
  }

  function api(method, path, body) {
    var opts = { method: method, headers: { "Accept": "application/json" }, cache: "no-store" };
    if (body) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch("api/" + path + "?t=" + encodeURIComponent(token), opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.message || r.status); e.code = j.code || "HTTP_" + r.status; e.status = r.status; throw e; }
        return j;
      });
    });
  }

  function failed(e) {
    stopPolling();
    if (e && e.code === "LINK_EXPIRED") return show("expired", [icon("bad", "hero bad"), el("h1", { text: t("link_expired") })]);
    if (e && e.code === "LINK_UNKNOWN") return show("unknown", [icon("bad", "hero bad"), el("h1", { text: t("link_unknown") })]);
    // The hospital answered but will not take this step (a 4xx): say so, do not offer a retry
    // that cannot help.
    if (e && e.status >= 400 && e.status < 500) return show("refused", [icon("bad", "hero bad"), el("h1", { text: t("refused") })]);
    // Never a blank page: what happened, and one way on.
    show("offline", [icon("bad", "hero bad"), el("h1", { text: t("net_error") }), primary(t("retry"), function () { return load(); })]);
  }

  function billScreen(v) {
    var items = v.lines.map(function (l) {
      return el("li", {}, [el("span", { text: l.name }), el("span", { class: "amount", text: yuan(l.amount_fen) })]);
    });
    var nodes = [el("h1", { text: t("bill_title") + " · " + t("scene_" + v.scene) }), el("ul", { class: "lines" }, items),
      el("div", { class: "total" }, [el("span", { text: t("total") }), el("span", { class: "amount", text: yuan(v.total_fen) })])];
    if (v.authorise_url) {
      nodes.push(primary(t("pay_insurance"), function () { location.assign(v.authorise_url); }, "shield"));
      nodes.push(el("p", { class: "status", text: t("pay_hint") }));
    } else {
      nodes.push(el("p", { class: "error", text: t("no_authorise") }));
    }
    show("bill", nodes);
  }

  function splitList(s) {
    function row(key, fen) {
      return el("li", {}, [el("span", { text: t(key) }), el("span", { class: "amount", text: yuan(fen) }), el("span", { class: "why", text: t(key + "_why") })]);
    }
    return el("ul", { class: "split" }, [row("fund", s.fund_fen), row("psn_acct", s.psn_acct_fen), row("own_pay", s.own_pay_fen)]);
  }

  function clock(ms) {
    var d = new Date(ms);
    var m = String(d.getMinutes());
    return d.getHours() + ":" + (m.length < 2 ? "0" + m : m);
  }

  function splitScreen(v) {
    var nodes = [el("h1", { text: t("split_title") }), splitList(v.split),
      el("div", { class: "total" }, [el("span", { text: t("total") }), el("span", { class: "amount", text: yuan(v.total_fen) })])];
    if (v.confirm_by_ms) nodes.push(el("p", { class: "status", id: "deadline", text: t("confirm_by", { time: clock(v.confirm_by_ms) }) }));
    nodes.push(primary(t("confirm"), function () { return decide(true); }, "good"));
    nodes.push(secondary(t("decline"), function () { return decide(false); }));
    show("split", nodes);
  }

  function cashierScreen(v) {
    var own = v.split ? v.split.own_pay_fen : v.total_fen;
    var nodes = [el("h1", { text: t("cashier_title") })];
    if (v.split) nodes.push(splitList(v.split));
    if (v.cashier_url && !backFromCashier) {
      nodes.push(primary(own > 0 ? t("cashier_pay", { amount: yuan(own) }) : t("cashier_pay_zero"), function () { location.assign(v.cashier_url); }, "card"));
      nodes.push(el("p", { class: "status", text: t("cashier_hint") }));
      show("cashier", nodes);
    } else {
      waiting("confirming", t("confirming_title"), t("confirming_hint"));
    }
  }

  function paidScreen(v) {
    var s = v.split || { fund_fen: 0, psn_acct_fen: 0, own_pay_fen: v.total_fen };
    var nodes = [icon("good", "hero good"), el("h1", { text: t("paid_title") }),
      el("p", { id: "paid-summary", text: t("paid_hint", { total: yuan(v.total_fen), insurance: yuan(s.fund_fen + s.psn_acct_fen), own: yuan(s.own_pay_fen) }) })];
    if (v.refunds) {
      if (v.refunds.refunded_fen > 0) nodes.push(el("p", { id: "refunded", text: t("refunded", { amount: yuan(v.refunds.refunded_fen) }) }));
      if (v.refunds.pending) nodes.push(el("p", { class: "status", text: t("refund_pending") }));
    }
    show("paid", nodes);
  }

  function render(v) {
    view = v;
    var steps = {
      bill: billScreen,
      working: function () { waiting("working", t("working_title"), t("working_hint")); },
      split: splitScreen,
      ordering: function () { waiting("ordering", t("ordering_title"), t("ordering_hint")); },
      cashier: cashierScreen,
      confirming: function () { waiting("confirming", t("confirming_title"), t("confirming_hint")); },
      paid: paidScreen,
      failed: function () {
        var hint = v.failure_code === "AUTHORISATION_REFUSED" ? t("failed_auth") : t("failed_hint");
        show("failed", [icon("bad", "hero bad"), el("h1", { text: t("failed_title") }), el("p", { text: hint })]);
      },
      cancelled: function () { show("cancelled", [icon("bad", "hero bad"), el("h1", { text: t("cancelled_title") }), el("p", { text: t("cancelled_hint") })]); }
    };
    (steps[v.step] || steps.bill)(v);
    warnExpiry(v);
    schedule(v);
  }

  // No timeout without warning: the link's end and the confirmation deadline are shown ahead.
  function warnExpiry(v) {
    var now = Date.now();
    var left = Math.floor((v.link_expires_at_ms - now) / 60000);
    var msg = "";
    if (v.step === "split" && v.confirm_by_ms && v.confirm_by_ms - now < 3 * 60000) msg = t("confirm_soon", { min: Math.max(1, Math.ceil((v.confirm_by_ms - now) / 60000)) });
    else if (left < 5 && ["paid", "failed", "cancelled"].indexOf(v.step) < 0) msg = t("link_ends", { min: Math.max(1, left) });
    notice.hidden = !msg;
    notice.textContent = msg;
  }

  function stopPolling() { if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; } }
  // Steps that change by themselves are re-read; the result appears without a reload.
  function schedule(v) {
    stopPolling();
    var moving = ["working", "ordering", "confirming"].indexOf(v.step) >= 0 || (v.step === "cashier" && backFromCashier);
    var every = moving ? 1500 : (v.step === "split" || v.step === "cashier" ? 10000 : 0);
    if (every) pollTimer = setTimeout(function () { load(true); }, every);
  }

  function load(quiet) {
    return api("GET", "bill").then(render, function (e) {
      // A poll that fails keeps the screen and tries again; a first load shows the error.
      if (quiet && e.status === undefined) { pollTimer = setTimeout(function () { load(true); }, 3000); return; }
      failed(e);
    });
  }

  function decide(yes) {
    notice.hidden = false;
    notice.textContent = t("sent");
    return api("POST", "confirm", { confirm: yes }).then(function (v) {
      // The decision is taken; the page waits for the payment to move on.
      if (v.step === "split") v.step = yes ? "ordering" : "working";
      render(v);
    }, failed);
  }

  function applyCare(on) {
    document.documentElement.classList.toggle("care", on);
    careButton.setAttribute("aria-pressed", on ? "true" : "false");
    document.getElementById("care-label").textContent = t(on ? "care_on" : "care_off");
    speakButton.hidden = !(on && "speechSynthesis" in window);
  }

  function loadWords(lang) {
    return fetch("i18n/" + lang + ".json", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (w) {
      words = w;
      document.documentElement.lang = w.lang;
      document.title = w.brand;
      document.getElementById("brand").textContent = w.brand;
      document.getElementById("speak-label").textContent = w.speak;
      langButton.textContent = w.other_lang;
      langButton.setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
      applyCare(stored("medpay.care") === "1");
    });
  }

  careButton.addEventListener("click", function () {
    var on = !document.documentElement.classList.contains("care");
    store("medpay.care", on ? "1" : "0");
    applyCare(on);
  });
  langButton.addEventListener("click", function () {
    var next = (stored("medpay.lang") || "zh") === "zh" ? "en" : "zh";
    store("medpay.lang", next);
    loadWords(next).then(function () { if (view) render(view); });
  });
  speakButton.addEventListener("click", function () {
    var say = new SpeechSynthesisUtterance(screen.innerText);
    say.lang = words.lang || "zh-CN";
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(say);
  });

  // Back from the channel's authorisation with an authCode: start the payment, then drop the
  // code from the address so a reload or a shared screenshot does not carry it.
  function start() {
    var authCode = params.get("authCode");
    if (!authCode) return load();
    params.delete("authCode");
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    waiting("working", t("working_title"), t("working_hint"));
    return api("POST", "authorised", { auth_code: authCode }).then(render, failed);
  }

  loadWords(stored("medpay.lang") || "zh").then(start, function () { failed(null); });
})();
