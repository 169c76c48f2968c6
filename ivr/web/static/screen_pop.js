"use strict";
// The screen-pop feed: a WebSocket that reconnects by itself. On every (re)connect the server
// sends the ids of the pops still open, then each of them, so nothing that arrived while the
// page was away is lost and nothing that closed meanwhile lingers. Each pop shown is
// acknowledged with the time it was rendered. A new pop never takes the form away from a
// case the agent is typing in: it waits, announced, until the agent switches.
(() => {
  const $ = (id) => document.getElementById(id);
  const form = window.ivrCaseForm;
  if (!$("pop") || !form) return;
  const STATES = {ringing: "振铃中", connected: "通话中", ended: "已挂断（话后处理）"};
  const pops = new Map();  // pop id -> the latest message for it
  let showing = null;  // the pop id in the panel
  let socket = null;
  let retry = 500;

  const seconds = (from, to) => Math.max(0, Math.round(((to || Date.now()) - from) / 1000));
  const clock = (s) => Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");

  const tick = () => {
    const message = showing === null ? null : pops.get(showing);
    if (!message) return;
    const call = message.call;
    const connected = message.pop.connected_at ? Date.parse(message.pop.connected_at) : null;
    const ended = message.pop.ended_at ? Date.parse(message.pop.ended_at) : null;
    if (call && call.queue_joined_at) {
      const answered = connected || (call.answered_at ? Date.parse(call.answered_at) : null);
      $("pop-wait").textContent = clock(seconds(Date.parse(call.queue_joined_at), answered));
    } else {
      $("pop-wait").textContent = "—";
    }
    $("pop-talk").textContent = connected ? clock(seconds(connected, ended)) : "—";
  };

  const renderHistory = (history) => {
    const items = history.map((h) => {
      const item = document.createElement("li");
      const when = new Date(h.created_at).toLocaleDateString();
      item.textContent = (h.number || "草稿") + " · " + when + " · " + h.summary;
      return item;
    });
    if (!items.length) items.push(Object.assign(document.createElement("li"), {textContent: "无"}));
    $("pop-history").replaceChildren(...items);
  };

  const renderPanel = (message) => {
    const pop = message.pop;
    showing = pop.id;
    $("pop-empty").hidden = true;
    $("pop-call").hidden = false;
    $("pop").dataset.popId = String(pop.id);
    $("pop").dataset.state = pop.state;
    $("pop-caller").textContent = message.case.caller_number || "未显示号码";
    $("pop-state").textContent = STATES[pop.state] || pop.state;
    $("pop-masked").hidden = !message.case.identity_masked;
    const audio = $("pop-audio");
    if (message.recording_url) {
      if (audio.getAttribute("src") !== message.recording_url) {
        audio.setAttribute("src", message.recording_url);
      }
      audio.hidden = false;
    } else {
      audio.removeAttribute("src");
      audio.hidden = true;
    }
    renderHistory(message.history);
    tick();
  };

  const showPop = (message) => {
    renderPanel(message);
    form.show(message, {mode: "pop", popId: message.pop.id,
                        editable: message.pop.state !== "ringing"});
    announceWaiting();
  };

  const waiting = () => Array.from(pops.values()).filter((m) => m.pop.id !== showing);

  const announceWaiting = () => {
    const others = waiting();
    $("pop-waiting").hidden = others.length === 0;
    if (others.length) {
      const latest = others[others.length - 1];
      $("pop-waiting-text").textContent = "另有 " + others.length + " 个来电弹屏待处理（最新：" +
        (latest.case.caller_number || "未显示号码") + "）";
    }
  };

  // May this pop take the form? Only when the form is free, shows this pop, or shows
  // another pop nobody has typed in.
  const mayTakeForm = (popId) => {
    const current = form.current();
    if (!current) return true;
    if (current.mode === "pop" && current.popId === popId) return true;
    return current.mode === "pop" && !form.isDirty();
  };

  const onPop = (message) => {
    const id = message.pop.id;
    pops.set(id, message);
    const current = form.current();
    if (current && current.mode === "pop" && current.popId === id) showPop(message);
    else if (showing === id && !current) renderPanel(message);
    else if (mayTakeForm(id)) showPop(message);
    else announceWaiting();
    window.requestAnimationFrame(() => send({type: "ack", pop_id: id, rendered_at: Date.now()}));
  };

  const showNext = () => {
    const next = Array.from(pops.values()).pop();
    if (next && !form.current()) { showPop(next); return; }
    if (!next) {
      showing = null;
      $("pop-empty").hidden = false;
      $("pop-call").hidden = true;
      delete $("pop").dataset.popId;
      delete $("pop").dataset.state;
    }
    announceWaiting();
  };

  const onClose = (popId) => {
    pops.delete(popId);
    const current = form.current();
    if (current && current.popId === popId) form.clear();
    if (showing === popId) showing = null;
    showNext();
  };

  const onSnapshot = (ids) => {
    const open = new Set(ids);
    Array.from(pops.keys()).filter((id) => !open.has(id)).forEach(onClose);
  };

  const send = (body) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(body));
  };

  const connect = () => {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/agent");
    $("feed-state").textContent = "连接中…";
    socket.addEventListener("open", () => {
      retry = 500;
      $("feed-state").textContent = "已连接";
      $("pop").dataset.feed = "open";
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "pop") onPop(message);
      else if (message.type === "close") onClose(message.pop_id);
      else if (message.type === "snapshot") onSnapshot(message.pop_ids);
    });
    socket.addEventListener("close", (event) => {
      $("pop").dataset.feed = "closed";
      if (event.code === 4001) { window.location.assign("/login"); return; }
      $("feed-state").textContent = "连接中断，正在重连…";
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  };

  $("pop-switch").addEventListener("click", () => {
    const next = waiting().pop();
    if (next) showPop(next);
  });
  form.on("registered", (c, done) => {
    if (done.popId !== null) onClose(done.popId); else showNext();
  });
  form.on("closed", (done) => {
    if (done.popId !== null) onClose(done.popId); else showNext();
  });
  window.setInterval(tick, 1000);
  connect();
})();
