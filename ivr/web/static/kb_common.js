"use strict";
// What the knowledge-base page and the agent console share: the API calls, the search box,
// the article viewer, and the matched words marked in titles and text (built from text
// nodes: nothing anyone typed ever reaches innerHTML).
window.ivrKb = (() => {
  const $ = (id) => document.getElementById(id);
  const meta = document.querySelector('meta[name="csrf-token"]');
  const token = meta ? meta.content : "";
  const listeners = [];
  let shown = null;  // the article in the viewer

  const api = async (method, path, body) => {
    const options = {method, credentials: "same-origin", headers: {"X-CSRF-Token": token}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 401) window.location.assign("/login");
    const data = await response.json();
    if (!response.ok) {
      throw Object.assign(new Error(data.error || response.statusText), {status: response.status});
    }
    return data;
  };

  const pattern = (words) => {
    const wanted = (words || []).filter(Boolean).sort((a, b) => b.length - a.length);
    const escaped = wanted.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return wanted.length ? new RegExp("(" + escaped.join("|") + ")", "i") : null;
  };

  // `text` with each of `words` in a <mark>
  const marked = (text, words) => {
    const fragment = document.createDocumentFragment();
    const split = pattern(words);
    (split ? text.split(split) : [text]).forEach((piece, i) => {
      if (i % 2) fragment.append(Object.assign(document.createElement("mark"), {textContent: piece}));
      else if (piece) fragment.append(piece);
    });
    return fragment;
  };

  const showError = (text) => {
    const box = $("kb-error");
    if (box) { box.textContent = text || ""; box.hidden = !text; }
  };

  const validity = (a) => "有效期 " + (a.valid_from || "不限") + " 至 " + (a.valid_until || "长期");
  const state = (a) => (!a.active ? "已停用" : (a.in_force ? "" : "不在有效期内"));

  const show = (article, words) => {
    shown = article;
    $("kb-article").hidden = false;
    $("kb-article").dataset.articleId = String(article.id);
    $("kb-article-title").replaceChildren(marked(article.title, words));
    $("kb-article-meta").textContent = [article.kind_label, "责任单位 " + article.owner,
                                        validity(article), state(article)]
      .filter(Boolean).join(" · ");
    $("kb-article-body").replaceChildren(marked(article.body, words));
    listeners.forEach((f) => f(article));
  };

  const open = async (id, words) => {
    showError("");
    try {
      show((await api("GET", "/api/kb/articles/" + id)).article, words);
    } catch (error) {
      showError(error.message);
    }
  };

  // search results or suggestions: the title and an excerpt marked, a click opens it
  const renderHits = (list, hits, emptyText) => {
    const items = hits.map((hit) => {
      const item = document.createElement("li");
      item.dataset.articleId = String(hit.id);
      const title = Object.assign(document.createElement("a"), {href: "#kb-" + hit.id});
      title.className = "kb-hit-title";
      title.append(marked(hit.title, hit.words));
      title.addEventListener("click", (event) => { event.preventDefault(); open(hit.id, hit.words); });
      const about = Object.assign(document.createElement("span"), {className: "muted"});
      about.textContent = " " + hit.kind_label + " · " + hit.owner;
      const excerpt = Object.assign(document.createElement("p"), {className: "kb-excerpt"});
      excerpt.append(marked(hit.excerpt, hit.words));
      item.append(title, about, excerpt);
      return item;
    });
    if (!items.length && emptyText) {
      items.push(Object.assign(document.createElement("li"), {className: "muted", textContent: emptyText}));
    }
    list.replaceChildren(...items);
  };

  const search = $("kb-search");
  if (search) {
    search.addEventListener("submit", async (event) => {
      event.preventDefault();
      const q = $("kb-q").value.trim();
      if (!q) return;
      showError("");
      try {
        const data = await api("GET", "/api/kb/search?limit=20&q=" + encodeURIComponent(q));
        renderHits($("kb-results"), data.results, "没有找到相关文章");
      } catch (error) {
        showError(error.message);
      }
    });
  }

  return {api, marked, renderHits, open, show, showError, validity,
          current: () => shown, onShow: (f) => listeners.push(f)};
})();
