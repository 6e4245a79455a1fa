"use strict";
// Live updates over server-sent events: new messages appear in an open conversation, lists refresh,
// and long waits in the mediator's languages raise an alert. Everything a migrant wrote is inserted
// as text, never as HTML.
(function () {
  const body = document.body;
  const live = body.dataset.live;
  const myLanguages = (body.dataset.languages || "").split(",");
  const head = document.querySelector("[data-conversation]");
  const transcript = document.getElementById("transcript");
  const canned = document.getElementById("canned");
  if (canned) canned.addEventListener("change", () => {
    const area = document.getElementById("reply-text");
    if (canned.value) { area.value = (area.value ? area.value + "\n" : "") + canned.value; area.focus(); }
    canned.value = "";
  });
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
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${m.sender}${m.direction === "note" ? " · internal note" : ""} · ${m.at}`;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = m.text;
      li.append(meta, text);
      for (const media of m.media) {
        const span = document.createElement("span");
        span.className = "media";
        span.textContent = `[${media.kind}: ${media.ref}]`;
        li.appendChild(span);
      }
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
        alertBox(`Conversation #${event.conversation_id} (${event.lang}, ${event.queue}) has waited ${event.minutes} minutes.`);
      }
      if (live === "queue") refreshList();
      return;
    }
    if (live === "conversation" && head && String(event.conversation_id) === head.dataset.conversation) fetchMessages();
    if (live === "queue") refreshList();
  };
})();
