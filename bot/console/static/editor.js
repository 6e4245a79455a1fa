"use strict";
// The flow editor: fills the "goes to" lists with every node of the flow set (the page would be huge
// with them written out in every list), asks before removing, and marks forms with unsaved changes.
(function () {
  const data = document.getElementById("targets");
  if (data) {
    const targets = JSON.parse(data.textContent);
    for (const select of document.querySelectorAll("select[data-targets]")) {
      const flow = select.dataset.targets;
      const current = select.value;
      const groups = [["This flow", targets.filter((t) => t.startsWith(flow + "."))],
                      ["Other flows", targets.filter((t) => !t.startsWith(flow + "."))]];
      const keep = Array.from(select.options).filter((o) => o.value === "");
      select.replaceChildren(...keep);
      let found = current === "";
      for (const [label, items] of groups) {
        const group = document.createElement("optgroup");
        group.label = label;
        for (const t of items) {
          const option = document.createElement("option");
          option.value = t;
          option.textContent = t.startsWith(flow + ".") ? t.slice(flow.length + 1) : t;
          if (t === current) { option.selected = true; found = true; }
          group.appendChild(option);
        }
        select.appendChild(group);
      }
      if (!found) {  // a target that does not exist: keep it, so saving does not change it silently
        const option = document.createElement("option");
        option.value = current;
        option.textContent = current + " (no such node)";
        option.selected = true;
        select.prepend(option);
      }
    }
  }
  const answers = document.getElementById("answers");
  if (answers) {
    const list = JSON.parse(answers.textContent);
    for (const select of document.querySelectorAll("select[data-answers]")) {
      const current = select.value;
      select.replaceChildren();
      if (!current) select.appendChild(new Option("— choose the answer —", ""));
      for (const [key, title] of list) {
        const option = new Option(title ? `${key} — ${title}` : key, key);
        option.selected = key === current;
        select.appendChild(option);
      }
    }
  }
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) ev.preventDefault();
  });
  for (const form of document.querySelectorAll(".node form")) {
    form.addEventListener("input", () => {
      const mark = form.querySelector(".dirty");
      if (mark) mark.hidden = false;
    });
  }
})();
