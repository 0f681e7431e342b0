// The journal's live tail: rows recorded after the page was drawn arrive over Server-Sent
// Events and go on top of the table. Without JavaScript the page is the same, minus the tail.
"use strict";
(function () {
  var live = document.getElementById("live");
  var rows = document.getElementById("journal-rows");
  if (!live || !rows || !window.EventSource) return;
  var ui = live.dataset.ui;
  var url = live.dataset.stream;
  url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(live.dataset.after);
  var limit = Math.max(rows.rows.length, 50);
  var seen = 0;

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text === null || text === undefined ? "" : String(text);
    return td;
  }

  function add(row) {
    var empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    tr.dataset.id = row.id;
    tr.className = "fresh";
    tr.appendChild(cell(row.id));
    var when = cell("");
    var time = document.createElement("time");
    time.dateTime = row.time;
    time.textContent = row.time;
    when.appendChild(time);
    tr.appendChild(when);
    var request = cell("");
    var code = document.createElement("code");
    code.textContent = row.method + " " + row.path;
    request.appendChild(code);
    tr.appendChild(request);
    var tenant = cell("");
    if (row.api_key) {
      var link = document.createElement("a");
      link.href = ui + "/tenants/" + encodeURIComponent(row.api_key.id);
      link.textContent = row.api_key.label;
      tenant.appendChild(link);
    } else {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = "no key";
      tenant.appendChild(none);
    }
    tr.appendChild(tenant);
    tr.appendChild(cell(row.account_id));
    tr.appendChild(cell(row.action));
    var status = cell(row.status + (row.code ? " " + row.code : ""), row.status >= 400 ? "bad" : "ok");
    if (row.injected) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "injected";
      status.appendChild(document.createTextNode(" "));
      status.appendChild(tag);
    }
    tr.appendChild(status);
    tr.appendChild(cell(row.credits, "num"));
    tr.appendChild(cell(row.duration_ms, "num"));
    rows.insertBefore(tr, rows.firstChild);
    while (rows.rows.length > limit) rows.deleteRow(rows.rows.length - 1);
  }

  var status = document.createElement("span");
  live.textContent = "";
  live.appendChild(status);
  status.textContent = "Live: new requests appear on top.";

  var source = new EventSource(url);
  source.addEventListener("row", function (message) {
    add(JSON.parse(message.data));
    seen += 1;
    status.textContent = "Live: " + seen + " new request" + (seen === 1 ? "" : "s") + " since the page was loaded.";
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) status.textContent = "Live tail stopped: reload the page.";
  });
})();
