"use strict";
// The knowledge base in the agent console: the articles the case's words suggest (they come
// with the pop and are refreshed with it when the transcript lands), the search box and
// 以此答复: the caller is answered with the article on screen, the case is registered as a
// consultation and closed at first contact, and the pop leaves the screen.
(() => {
  const $ = (id) => document.getElementById(id);
  const kb = window.ivrKb;
  const form = window.ivrCaseForm;
  if (!$("kb-panel") || !kb || !form) return;

  const setAnswer = () => {
    const current = form.current();
    const article = kb.current();
    const ready = current && current.editable && current.caseId !== null;
    $("kb-answer").disabled = !(ready && article && article.in_force);
  };

  const showSuggestions = (suggestions) => {
    kb.renderHits($("kb-suggestions"), suggestions, "");
    $("kb-suggest-empty").hidden = suggestions.length > 0;
    $("kb-panel").dataset.suggested = String(suggestions.length);
  };

  form.on("shown", (bundle) => {
    if (Array.isArray(bundle.suggestions)) {
      showSuggestions(bundle.suggestions);
    } else {  // a claimed draft: asked for, as its pop would have had them
      kb.api("GET", "/api/cases/" + bundle.case.id + "/kb-suggestions")
        .then((data) => showSuggestions(data.suggestions), () => showSuggestions([]));
    }
    setAnswer();
  });
  form.on("cleared", () => { showSuggestions([]); setAnswer(); });
  kb.onShow(setAnswer);
  $("kb-answer").addEventListener("click", () => {
    const article = kb.current();
    if (article) form.answer(article);
  });
})();
