"use strict";
// Live updates over server-sent events: new messages appear in an open conversation, lists refresh,
// waiting times count, the tab title carries the waiting count, a new urgent conversation raises a
// browser notification (and a sound), long waits raise an alert. Keys: Ctrl+Enter sends, Esc leaves a
// conversation, j/k move in a list. Everything a migrant wrote is inserted as text, never as HTML.
(function () {
  const body = document.body;
  const live = body.dataset.live;
  const myLanguages = (body.dataset.languages || "").split(",");
  const head = document.querySelector("[data-conversation]");
  const transcript = document.getElementById("transcript");
  const canned = document.getElementById("canned");
  const baseTitle = document.title;
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));

  if (canned) canned.addEventListener("change", () => {
    const area = document.getElementById("reply-text");
    if (canned.value) { area.value = (area.value ? area.value + "\n" : "") + canned.value; area.focus(); }
    canned.value = "";
  });

  // -- keyboard -------------------------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    const inField = ev.target.matches && ev.target.matches("textarea, input, select");
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.id === "reply-text") {
      ev.preventDefault();
      const form = document.getElementById("reply-form");
      if (form && ev.target.value.trim()) form.requestSubmit();
      return;
    }
    if (ev.key === "Escape" && live === "conversation") {
      if (inField && ev.target.value) { ev.target.blur(); return; }
      location.href = "/console/queue";
      return;
    }
    if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if ((ev.key === "j" || ev.key === "k") && document.getElementById("items")) {
      const links = Array.from(document.querySelectorAll("#items .item > a"));
      if (!links.length) return;
      let i = links.indexOf(document.activeElement);
      i = ev.key === "j" ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
      links[i].focus();
      ev.preventDefault();
    }
  });

  // -- waiting times that count, and the tab title -------------------------------------------------------
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll(".wait[data-since]")) {
      const minutes = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 60000));
      const clock = el.querySelector(".clock");
      const text = `${minutes} ${body.dataset.tMin}`;
      if (clock && clock.textContent !== text) clock.textContent = text;
    }
    const count = document.getElementById("count");
    if (count && live === "queue") {
      const waiting = Number(count.dataset.waiting || 0);
      document.title = waiting ? `(${waiting}) ${baseTitle}` : baseTitle;
    }
  }
  tick();
  setInterval(tick, 15000);

  // -- a new urgent conversation: a notification (with permission) and a sound ------------------------
  const known = new Set(Array.from(document.querySelectorAll("#items .item[data-urgent='1']")).map((li) => li.dataset.id));
  if (live === "queue" && window.Notification && Notification.permission === "default") {
    document.addEventListener("click", () => Notification.requestPermission(), { once: true });
  }
  function beep() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.connect(ctx.destination);
      osc.frequency.value = 880;
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound: the notification and the red row remain */ }
  }
  function notify(title, text) {
    window.dispatchEvent(new CustomEvent("hotline-notify", { detail: { title, text } }));
    beep();
    if (window.Notification && Notification.permission === "granted") new Notification(title, { body: text });
  }
  function announceNewUrgent() {
    for (const li of document.querySelectorAll("#items .item[data-urgent='1']")) {
      if (known.has(li.dataset.id)) continue;
      known.add(li.dataset.id);
      const reason = li.querySelector(".reason");
      notify(fill(body.dataset.tUrgent, { id: li.dataset.id }), reason ? reason.textContent : "");
    }
  }

  if (!live || !window.EventSource) return;

  function alertBox(text) {
    const box = document.createElement("div");
    box.className = "alert";
    box.textContent = text;
    document.getElementById("alerts").appendChild(box);
    setTimeout(() => box.remove(), 30000);
  }

  let refreshTimer = null;
  function refreshList() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const res = await fetch(location.href, { credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const id of ["items", "count"]) {  // the list and its count in the heading
        const fresh = doc.getElementById(id);
        const current = document.getElementById(id);
        if (fresh && current) current.replaceWith(fresh);
      }
      tick();
      announceNewUrgent();
    }, 300);
  }

  // Events can come close together: one fetch at a time (and once more after it if another event came
  // meanwhile), and a message already shown is never appended again.
  let fetching = false;
  let fetchAgain = false;
  async function fetchMessages() {
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    try {
      await appendNewMessages();
    } finally {
      fetching = false;
      if (fetchAgain) { fetchAgain = false; fetchMessages(); }
    }
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  async function appendNewMessages() {
    const id = head.dataset.conversation;
    const res = await fetch(`/console/c/${id}/messages?after=${head.dataset.last}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const data = await res.json();
    let changedState = false;
    for (const m of data.messages) {
      if (m.id <= Number(head.dataset.last)) continue;
      head.dataset.last = m.id;
      const li = document.createElement("li");
      li.className = `m ${m.direction} ${m.sender}`;
      li.dataset.id = m.id;
      const who = m.direction === "note" ? body.dataset.tNote : (m.direction === "activity" ? "" : m.who);
      li.append(span("meta", who ? `${who} · ${m.at}` : m.at));
      if (m.pressed) {
        const pressed = span("pressed", `${body.dataset.tPressed}: `);
        pressed.appendChild(span("label", m.pressed));
        li.appendChild(pressed);
      }
      if (m.text) li.appendChild(span("text", m.text));
      for (const media of m.media) li.appendChild(span("media", `[${media.kind}]`));
      transcript.appendChild(li);
      if (m.direction === "activity") changedState = true;
    }
    if (changedState && !document.activeElement.matches("textarea")) location.reload();
  }

  const source = new EventSource("/console/events");
  // A submitted form is already loading the next page (with its one-time message); a reload for an
  // event of our own action would race it and lose that message.
  document.addEventListener("submit", () => source.close());
  source.onmessage = (ev) => {
    const event = JSON.parse(ev.data);
    if (event.type === "sla") {
      if (myLanguages.includes(event.lang) || myLanguages.includes("") || event.unmatched) {
        const text = fill(body.dataset.tSla, { id: event.conversation_id, lang: event.lang, queue: event.queue,
                                              minutes: event.minutes });
        alertBox(text);
        notify(text, "");
      }
      if (live === "queue") refreshList();
      return;
    }
    if (live === "conversation" && head && String(event.conversation_id) === head.dataset.conversation) fetchMessages();
    if (live === "queue") refreshList();
  };
})();
