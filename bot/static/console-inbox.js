// The shared inbox list: ask the server every few seconds whether tickets were opened since the page
// loaded, and show them in a highlighted box (no sound, no automatic reload that would lose ticks).
(function () {
  "use strict";
  var box = document.getElementById("inbox-live");
  if (!box || !window.fetch) { return; }
  var after = parseInt(box.getAttribute("data-after"), 10) || 0;
  var url = box.getAttribute("data-url");
  var seconds = Math.max(parseInt(box.getAttribute("data-seconds"), 10) || 8, 3);
  var list = box.querySelector(".live-list");
  var count = box.querySelector(".live-n");
  var seen = {};
  var total = 0;
  var title = document.title;

  function show(items) {
    items.slice().reverse().forEach(function (t) {
      if (seen[t.id]) { return; }
      seen[t.id] = true;
      total += 1;
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = t.url;
      a.textContent = "#" + t.id + " · " + t.channel + " · " + t.reason + " · " + t.created + " — " + t.text;
      li.appendChild(a);
      list.insertBefore(li, list.firstChild);
    });
    if (total > 0) {
      count.textContent = String(total);
      box.hidden = false;
      box.classList.add("fresh");
      document.title = "(" + total + ") " + title;
    }
  }

  function tick() {
    if (document.hidden) { return; }
    fetch(url + "?after=" + after, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        after = Math.max(after, data.latest || 0);
        if (data["new"] && data["new"].length) { show(data["new"]); }
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  window.setInterval(tick, seconds * 1000);
})();
