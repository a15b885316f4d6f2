// The board's one script: live escalations over Server-Sent Events, resumed
// with Last-Event-ID after any disconnection, and the numbers refreshed when
// something happens. No library, no build step.
(function () {
  "use strict";
  var list = document.getElementById("live");
  var conn = document.getElementById("conn");
  var summary = document.getElementById("summary");
  if (!list || !conn) { return; }
  var labels = JSON.parse(list.getAttribute("data-labels") || "{}");
  var levelTier = { IV: "blue", III: "yellow", II: "orange", I: "red" };
  var lastId = null;  // the stream position after the last event seen
  var source = null;
  var stopped = false;
  var refreshTimer = null;

  function state(up, text) {
    conn.textContent = text;
    conn.className = up ? "conn up" : "conn";
    document.body.setAttribute("data-stream", up ? "up" : "down");
  }

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  // A rule's name on the Chinese board (its id elsewhere); a district's own rule by its family.
  function ruleWord(id) {
    var named = (labels.rules || {})[id];
    if (named) { return named; }
    var dot = id.indexOf("."), family = dot > 0 ? (labels.families || {})[id.slice(0, dot)] : null;
    return family ? family + "（" + id.slice(dot + 1) + "）" : id;
  }

  // An escalation taken back is named by what it takes back (its rule's family), and carries no
  // colour of the step it withdraws, so it never reads as one more red escalation.
  function actionWord(d) {
    if (d.action === "failure_withdrawn") {
      var steps = labels.withdrawals || {}, rule = d.rule_id || "", dot = rule.indexOf(".");
      return steps[dot > 0 ? rule.slice(0, dot) : rule] || steps[""] || d.action;
    }
    return (labels.actions || {})[d.action] || d.action || "";
  }

  function add(event) {
    var d = event.data || {};
    var withdrawn = /_withdrawn$/.test(d.action || "");
    var tier = withdrawn ? "none" : d.tier || levelTier[d.response_level] || "none";
    var li = document.createElement("li");
    li.className = "tier-" + tier;
    li.setAttribute("data-escalation", d.escalation_id || "");
    li.setAttribute("data-subject", d.subject_id || "");
    var badge = withdrawn ? labels.withdrawn || "" : d.tier ? (labels.tiers || {})[d.tier] || d.tier
      : (d.response_level ? d.response_level + " " + (labels.level || "") : (labels.tiers || {}).none || "");
    li.appendChild(text("span", badge, "badge tier-" + tier));
    li.appendChild(document.createTextNode(" "));
    // Hazards, alerts and enterprises have detail pages; a plan's escalation names its subject.
    var page = { hazard: "hazards/", alert: "alerts/", enterprise: "enterprises/" }[d.subject_kind || "hazard"];
    var link = document.createElement(page ? "a" : "span");
    if (page) { link.href = "/board/" + page + encodeURIComponent(d.subject_id || ""); }
    link.textContent = d.subject_id || "";
    li.appendChild(link);
    li.appendChild(document.createTextNode(" · " + ((labels.towns || {})[d.town] || d.town || "") + " · " + actionWord(d)));
    li.appendChild(document.createElement("br"));
    // The step's own time, and when the engine sent it (the record's broker time) where the stream
    // gives it, to the second.
    var sent = event.brokertime ? " · " + (labels.sent || "") + " " + event.brokertime.replace(/\.\d+/, "") : "";
    li.appendChild(text("span", (event.time || "") + sent + " · " + ruleWord(d.rule_id || "") + " · ", "meta"));
    // The reason in Chinese on the Chinese board where the engine gives it; else its English sentence.
    var zh = document.body.getAttribute("data-lang") === "zh" && d.reason_zh;
    var reason = text("span", zh ? d.reason_zh : (d.reason || ""), "meta");
    if (!zh) { reason.setAttribute("lang", "en"); }
    li.appendChild(reason);
    // Newest first by when it was sent (its broker time; a stream of before gives only the step's
    // own time): a late record sends a whole ladder at once, each step dated days back, and what was
    // just sent must not sink under what came since those days. A resumed stream delivers partition
    // by partition, so each entry finds its place.
    var at = Date.parse(event.brokertime || event.time || "") || 0;
    li.setAttribute("data-time", event.time || "");
    li.setAttribute("data-sent", String(at));
    var before = list.firstChild;
    while (before && Number(before.getAttribute("data-sent") || 0) > at) { before = before.nextSibling; }
    list.insertBefore(li, before);
    while (list.children.length > 300) { list.removeChild(list.lastChild); }
  }

  function refresh() {
    if (!summary || refreshTimer) { return; }
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      fetch(summary.getAttribute("data-src"), { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { signedOut(); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) { if (html !== null && html !== undefined) { summary.innerHTML = html; } })
        .catch(function () { /* the stream's state line already says we are offline */ });
    }, 500);
  }

  function signedOut() {
    stopped = true;
    if (source) { source.close(); }
    state(false, conn.getAttribute("data-signed-out"));
    var a = document.createElement("a");
    a.href = "/board/signin?next=" + encodeURIComponent(location.pathname);
    a.textContent = " →";
    conn.appendChild(a);
  }

  function seen(id) {
    // The stream position reached, kept for reconnecting and shown to scripts and tests.
    if (id) { lastId = id; document.body.setAttribute("data-position", id); }
  }

  function connect() {
    // The first time, the latest few escalations; after that, exactly from where it stopped.
    var url = "/board/events" + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "?recent=20");
    source = new EventSource(url);
    source.onopen = function () { state(true, conn.getAttribute("data-connected")); };
    source.addEventListener("position", function (e) { seen(e.lastEventId); });
    source.addEventListener("escalation", function (e) {
      seen(e.lastEventId);
      try { add(JSON.parse(e.data)); } catch (err) { return; }
      refresh();
    });
    source.addEventListener("revoked", signedOut);
    source.onerror = function () {
      state(false, conn.getAttribute("data-disconnected"));
      if (source.readyState === EventSource.CLOSED) { source.close(); later(); }
      // Otherwise the browser reconnects by itself, sending Last-Event-ID.
    };
  }

  function later() {
    if (stopped) { return; }
    setTimeout(function () {
      // An ended session is said plainly instead of retried for ever.
      fetch("/board/session", { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { signedOut(); } else if (r.ok) { connect(); refresh(); } else { later(); }
      }).catch(later);
    }, 3000);
  }

  connect();
  setInterval(refresh, 60000);  // hazards reported without an escalation show within a minute
}());
