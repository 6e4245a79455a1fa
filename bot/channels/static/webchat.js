"use strict";
const UI = {
  ru: { title: "Горячая линия для мигрантов", placeholder: "Напишите сообщение…", error: "Не удалось отправить. Проверьте интернет и попробуйте ещё раз." },
  uz: { title: "Migrantlar uchun ishonch telefoni", placeholder: "Xabar yozing…", error: "Yuborib boʻlmadi. Internetni tekshirib, qayta urinib koʻring." },
  uz_cyrl: { title: "Мигрантлар учун ишонч телефони", placeholder: "Хабар ёзинг…", error: "Юбориб бўлмади. Интернетни текшириб, қайта уриниб кўринг." },
  tg: { title: "Хати боварии муҳоҷирон", placeholder: "Паём нависед…", error: "Фиристода нашуд. Интернетро санҷед ва боз кӯшиш кунед." },
  ky: { title: "Мигранттар үчүн ишеним телефону", placeholder: "Билдирүү жазыңыз…", error: "Жөнөтүлгөн жок. Интернетти текшерип, кайра аракет кылыңыз." },
};
const log = document.getElementById("log");
const text = document.getElementById("text");
const langSelect = document.getElementById("lang");
// The session id is issued (and signed) by the server; one it did not issue is refused with
// `renew`, and a new one is asked for.
let session = localStorage.getItem("hotline.session");
async function newSession() {
  const res = await fetch("/chat/api/session", { method: "POST" });
  if (!res.ok) throw new Error("no session");
  session = (await res.json()).session;
  localStorage.setItem("hotline.session", session);
}
let lastSeen = 0;
const guess = () => {
  const saved = localStorage.getItem("hotline.lang");
  if (saved && UI[saved]) return saved;
  const nav = (navigator.language || "").slice(0, 2);
  return UI[nav] ? nav : "uz";
};
function applyLang(lang) {
  const ui = UI[lang] || UI.ru;
  document.documentElement.lang = lang === "uz_cyrl" ? "uz-Cyrl" : lang;
  document.getElementById("title").textContent = ui.title;
  document.title = ui.title;
  text.placeholder = ui.placeholder;
  langSelect.value = lang;
}
function bubble(kind, body, buttons) {
  const div = document.createElement("div");
  div.className = "msg " + kind;
  div.textContent = body;
  if (buttons && buttons.length) {
    const row = document.createElement("div");
    row.className = "buttons";
    for (const b of buttons) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.label;
      btn.addEventListener("click", () => send({ payload: b.payload }, b.label));
      row.appendChild(btn);
    }
    div.appendChild(row);
  }
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
}
async function post(body) {
  if (!session) await newSession();
  return fetch("/chat/api/send", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session, lang: langSelect.value, ...body }),
  });
}
async function send(body, shown) {
  if (shown) bubble("me", shown);
  try {
    let res = await post(body);
    let data = await res.json();
    if (data.renew) {
      await newSession();
      res = await post(body);
      data = await res.json();
    }
    if (!res.ok) { bubble("error", data.error || UI[langSelect.value].error); return; }
    for (const r of data.replies) bubble("bot", r.text, r.buttons);
  } catch (e) {
    bubble("error", UI[langSelect.value].error);
  }
}
function show(m, history) {
  if (m.id <= lastSeen) return;  // two polls overlapping must not show a message twice
  lastSeen = m.id;
  if (m.direction === "in") { if (history) bubble("me", m.text || "…"); return; }
  if (m.direction !== "out") return;
  // Live, the bot's replies come back with each send; polling brings the mediator's messages and the
  // hotline's notices about them (a mediator joined, the conversation closed, the rating question).
  if (history || m.sender !== "bot") bubble(m.sender === "mediator" ? "mediator" : "bot", m.text, m.buttons);
}
async function poll(history) {
  if (!session) return 0;
  try {
    const res = await fetch(`/chat/api/messages?session=${encodeURIComponent(session)}&after=${lastSeen}`);
    if (res.ok) {
      const data = await res.json();
      for (const m of data.messages) show(m, history);
      return data.messages.length;
    }
  } catch (e) { /* offline: try again on the next tick */ }
  return 0;
}
document.getElementById("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const value = text.value.trim();
  if (!value) return;
  text.value = "";
  send({ text: value }, value);
});
text.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); document.getElementById("form").requestSubmit(); }
});
langSelect.addEventListener("change", () => {
  localStorage.setItem("hotline.lang", langSelect.value);
  applyLang(langSelect.value);
  send({ payload: "l:" + langSelect.value });
});
applyLang(guess());
(async () => {
  // A returning visitor sees the conversation so far (a reload must not cancel a request for a
  // person); a new one is greeted.
  const seen = await poll(true);
  if (!seen) send({ text: "/start" });
  setInterval(() => poll(false), 3000);
})();
