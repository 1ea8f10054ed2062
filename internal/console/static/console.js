// logshipper console: the Overview's refresh, the live log, confirmations. No framework, no
// build step; every element it touches has an id.
(function () {
  "use strict";

  // Overview: fetch the body again every 5 seconds.
  var ov = document.getElementById("overview-body");
  if (ov && ov.dataset.refresh) {
    setInterval(function () {
      fetch(ov.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          // A session that ended sends the request to the login page: go there whole.
          if (r.redirected) { window.location.assign("/login?next=%2F"); return Promise.reject(401); }
          return r.ok ? r.text() : Promise.reject(r.status);
        })
        .then(function (html) { ov.innerHTML = html; })
        .catch(function () { /* keep the last body; the next tick tries again */ });
    }, 5000);
  }

  // Logging: append the lines streamed by Server-Sent Events.
  var table = document.getElementById("log-lines");
  if (table && table.dataset.stream && window.EventSource) {
    var body = document.getElementById("log-body");
    var status = document.getElementById("log-status");
    var follow = document.getElementById("log-follow");
    var es = new EventSource(table.dataset.stream);
    es.onopen = function () { status.textContent = "live"; status.dataset.state = "live"; };
    es.onerror = function () { status.textContent = "reconnecting…"; status.dataset.state = "reconnecting"; };
    es.addEventListener("line", function (ev) {
      var l;
      try { l = JSON.parse(ev.data); } catch (e) { return; }
      var tr = document.createElement("tr");
      tr.className = "level-" + l.level;
      tr.setAttribute("data-testid", "log-line");
      var cells = [l.time ? new Date(l.time).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "", l.level, l.plugin || "", l.msg];
      cells.forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === 3 && l.attrs) {
          Object.keys(l.attrs).sort().forEach(function (k) {
            var sp = document.createElement("span");
            sp.className = "attr";
            sp.textContent = " " + k + "=" + l.attrs[k];
            td.appendChild(sp);
          });
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
      while (body.rows.length > 2000) { body.deleteRow(0); }
      if (follow && follow.checked) { tr.scrollIntoView({ block: "end" }); }
    });
  }

  // A plugin form's Validate runs in place: the page is not loaded again, so the secrets typed
  // in it stay (the console never sends a secret back). Without the script, the form posts
  // and the page shows the result (the secrets are then typed again).
  var pform = document.getElementById("plugin-form");
  if (pform && window.fetch && window.FormData) {
    pform.addEventListener("submit", function (ev) {
      if (!ev.submitter || ev.submitter.id !== "plugin-validate" || ev.defaultPrevented) { return; }
      ev.preventDefault();
      var data = new URLSearchParams(new FormData(pform));
      data.set("action", "validate");
      // getAttribute: the form's "action" property is its button named action.
      fetch(pform.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (res) { showValidation(pform, res); })
        .catch(function (code) { showValidation(pform, { valid: false, problems: ["validate failed (" + code + "); try again"] }); });
    });
  }

  function showValidation(form, res) {
    ["form-message", "form-problems"].forEach(function (id) {
      var old = document.getElementById(id);
      if (old) { old.remove(); }
    });
    var box;
    if (res.valid) {
      box = document.createElement("p");
      box.className = "ok";
      box.id = "form-message";
      box.textContent = res.message;
    } else {
      box = document.createElement("div");
      box.className = "problems error";
      box.id = "form-problems";
      var p = document.createElement("p");
      p.textContent = "The configuration is not valid (nothing was saved):";
      box.appendChild(p);
      var ul = document.createElement("ul");
      (res.problems || []).forEach(function (text) {
        var li = document.createElement("li");
        li.textContent = text;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    box.setAttribute("data-testid", box.id);
    form.parentNode.insertBefore(box, form);
  }

  // Ask before what cannot be undone.
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter;
    var msg = (btn && btn.dataset.confirm) || ev.target.dataset.confirm;
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  // Dead letters: select all.
  var all = document.getElementById("dl-select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.dl-select").forEach(function (c) { c.checked = all.checked; });
    });
  }
})();
