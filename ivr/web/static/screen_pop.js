"use strict";
// The screen-pop feed: a WebSocket that reconnects by itself. The server resends every pop
// still open on (re)connect, so nothing that arrived while the page was away is lost; each
// pop shown is acknowledged with the time it was rendered.
(() => {
  const $ = (id) => document.getElementById(id);
  const form = window.ivrCaseForm;
  if (!$("pop") || !form) return;
  const STATES = {ringing: "振铃中", connected: "通话中", ended: "已挂断（话后处理）"};
  const pops = new Map();  // pop id -> the latest message for it
  let showing = null;  // the pop id on screen
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
    const list = $("pop-history");
    list.replaceChildren(...history.map((h) => {
      const item = document.createElement("li");
      const when = new Date(h.created_at).toLocaleDateString();
      item.textContent = (h.number || "草稿") + " · " + when + " · " + h.summary;
      return item;
    }));
    if (!history.length) list.replaceChildren(Object.assign(document.createElement("li"),
                                                            {textContent: "无"}));
  };

  const render = (message) => {
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
    form.show(message, {mode: "pop", popId: pop.id, editable: pop.state !== "ringing"});
    tick();
  };

  const showNext = () => {
    const next = Array.from(pops.values()).pop();
    if (next) { render(next); return; }
    showing = null;
    $("pop-empty").hidden = false;
    $("pop-call").hidden = true;
    delete $("pop").dataset.popId;
  };

  const onPop = (message) => {
    pops.set(message.pop.id, message);
    const current = form.current();
    // a pop for the case being worked refreshes it; a new one takes the screen unless the
    // agent is working a claimed or manual case
    if (showing === message.pop.id || !current || current.mode === "pop") render(message);
    window.requestAnimationFrame(() => send({type: "ack", pop_id: message.pop.id,
                                             rendered_at: Date.now()}));
  };

  const onClose = (popId) => {
    pops.delete(popId);
    if (showing === popId) {
      const current = form.current();
      if (current && current.popId === popId) form.clear();
      showNext();
    }
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
    });
    socket.addEventListener("close", (event) => {
      $("pop").dataset.feed = "closed";
      if (event.code === 4001) { window.location.assign("/login"); return; }
      $("feed-state").textContent = "连接中断，正在重连…";
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  };

  form.on("registered", (c, done) => { if (done.popId !== null) onClose(done.popId); });
  form.on("closed", (done) => { if (done.popId !== null) onClose(done.popId); });
  window.setInterval(tick, 1000);
  connect();
})();
