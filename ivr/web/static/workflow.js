"use strict";
// The workflow's pages (/workflow/...): every form.wf-move is sent as JSON to its data-url
// (data-method, POST by default) with the session's CSRF token. On success the page reloads
// and says what was done (kept in sessionStorage across the reload); on failure it shows
// the server's message and changes nothing.
(() => {
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const FLASH = "wf-flash";

  const say = (id, text) => {
    const el = $(id);
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  };

  // A field's JSON value; undefined leaves it out (the server then says what is missing).
  const valueOf = (field) => {
    if (field.multiple) return Array.from(field.selectedOptions, (o) => o.value).filter(Boolean);
    const raw = field.value.trim();
    if (raw === "") return undefined;
    if (field.dataset.type === "int") return Number(raw);
    if (field.dataset.type === "bool") return raw === "true";
    return raw;
  };

  const bodyOf = (form) => {
    const body = {};
    form.querySelectorAll("[name]").forEach((field) => {
      const value = valueOf(field);
      if (value !== undefined) body[field.name] = value;
    });
    return body;
  };

  const send = async (form) => {
    let response;
    try {
      response = await fetch(form.dataset.url, {
        method: form.dataset.method || "POST",
        headers: {"X-CSRF-Token": token, "Content-Type": "application/json",
                  "Accept": "application/json"},
        body: JSON.stringify(bodyOf(form)),
        credentials: "same-origin",
      });
    } catch (_) {
      throw new Error("无法连接服务器，请稍后再试");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || ("请求失败（" + response.status + "）"));
    return data;
  };

  document.querySelectorAll("form.wf-move").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say("wf-error", "");
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await send(form);
        sessionStorage.setItem(FLASH, form.dataset.done || "已完成");
        window.location.reload();
      } catch (error) {
        say("wf-error", error.message);
        $("wf-error").scrollIntoView({block: "center"});
        if (button) button.disabled = false;
      }
    });
  });

  const flash = sessionStorage.getItem(FLASH);
  if (flash) {
    sessionStorage.removeItem(FLASH);
    say("wf-status", flash);
  }
})();
