// Web chat: sends text or a button's payload, shows replies and their buttons, polls for staff answers.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");

  function add(cls, html, isText) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    if (isText) { div.textContent = html; } else { div.innerHTML = html; }
    log.appendChild(div);
    return div;
  }

  // Bring the start of `el` into view: on a phone the page itself scrolls, on a desktop the log does;
  // scrollIntoView moves whichever does, and the member reads a long answer from its first line.
  function reveal(el) {
    if (!el) return;
    if (typeof el.scrollIntoView === "function") {
      el.scrollIntoView({ block: "start", behavior: "smooth" });
    }
    log.scrollTop = Math.max(0, el.offsetTop - log.offsetTop - 8);
  }

  // 👍/👎 count once: the pressed one stays marked, both are disabled.
  function markFeedback(box, pressed) {
    for (const b of box.querySelectorAll("button")) {
      if (!b.dataset.payload.startsWith("fb:")) continue;
      b.disabled = true;
      if (b === pressed) { b.classList.add("pressed"); b.setAttribute("aria-pressed", "true"); }
    }
  }

  function showReplies(replies, scroll) {
    let first = null;
    for (const r of replies) {
      const div = add("bot", r.html);
      if (!first) first = div;
      if (r.buttons && r.buttons.length) {
        const box = document.createElement("div");
        box.className = "buttons";
        for (const row of r.buttons) {
          for (const b of row) {
            const btn = document.createElement("button");
            btn.type = "button";
            btn.textContent = b.label;
            btn.dataset.payload = b.payload;
            if (b.pressed) btn.classList.add("chosen");
            btn.addEventListener("click", () => {
              if (b.payload.startsWith("fb:")) markFeedback(box, btn); else btn.classList.add("chosen");
              send({ payload: b.payload, label: b.label }, b.label);
            });
            box.appendChild(btn);
          }
        }
        if (r.feedback) {
          const pressed = [...box.querySelectorAll("button")].find(
            (b) => b.dataset.payload.startsWith("fb:" + (r.feedback > 0 ? "+" : "-") + ":"));
          if (pressed) markFeedback(box, pressed);
        }
        log.appendChild(box);
      }
    }
    if (scroll !== false) reveal(first);
  }

  // One id per message, kept across retries: the server answers a retried message with the replies it
  // already stored instead of answering it twice.
  function clientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  async function send(body, echo) {
    if (echo) add("user", echo, true);
    body.client_id = body.client_id || clientId();
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch("/api/message", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        const data = await res.json();
        if (!res.ok) { add("bot error", data.error || "Có lỗi, bà con thử lại nhé.", true); return; }
        showReplies(data.replies);
        return;
      } catch (e) {
        // The message may have arrived and only the answer was lost: retrying with the same id is safe.
        if (attempt >= 3) { add("bot error", "Không kết nối được, bà con thử lại sau nhé.", true); return; }
        await new Promise((resolve) => setTimeout(resolve, 1500 * attempt));
      }
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });

  async function poll() {
    try {
      const res = await fetch("/api/poll");
      if (res.ok) { const data = await res.json(); if (data.replies.length) showReplies(data.replies); }
    } catch (e) { /* offline: try again next time */ }
  }
  setInterval(poll, 5000);
  // A link such as /?q=điều+kiện+vào+htx (shared by the alliance) asks that question after the greeting;
  // /?tinh=kontum sets the province like a Telegram deep link.
  const params = new URLSearchParams(window.location.search);
  const q = (params.get("q") || "").trim().slice(0, 500);

  async function restore() {
    // Show the conversation so far (the page was reloaded); greet only a new visitor.
    try {
      const res = await fetch("/api/history");
      if (!res.ok) return false;
      const items = (await res.json()).items;
      items.forEach((it, i) => {
        if (it.who === "user") { add("user", it.text, true); return; }
        // Only the last reply keeps its buttons: older ones would act on a conversation that moved on.
        showReplies([{ html: it.html, buttons: i === items.length - 1 ? it.buttons : [], feedback: it.feedback }],
          false);
      });
      if (items.length) reveal(log.lastElementChild);
      return items.length > 0;
    } catch (e) { return false; }
  }

  restore().then(async (hadHistory) => {
    if (!hadHistory || params.get("tinh")) {
      await send({ text: params.get("tinh") ? "/start " + params.get("tinh").slice(0, 40) : "/start" });
    }
    if (q) send({ text: q }, q);
  });
})();
