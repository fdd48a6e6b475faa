// The reviewer's keyboard on the approvals queue and an approval's page, and the queue's selection.
// j/k move between requests, x selects, a approves, d denies (after the reason prompt), e edits,
// ? lists the keys (templates/approvals/_review_keys.html). Keys do nothing while the reviewer types in
// a field or a dialog is open. Everything here only drives the page's own forms: without JavaScript
// the same forms work by hand, and the server checks every decision again.
(function () {
  "use strict";

  var help = document.getElementById("keys-help");
  if (!help) { return; }
  var page = help.dataset.page;
  var prompt = document.getElementById("deny-prompt");
  var batchForm = document.getElementById("batch-form");

  function typing(target) {
    if (document.querySelector("dialog[open]")) { return true; }  // the dialog has the keyboard
    if (!(target instanceof Element)) { return false; }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") { return true; }
    return target.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/.test(target.type);
  }

  // ---- The reason prompt: a preset or free text, one of them required; then the page's own deny button.
  var onDeny = null;
  function askReason(reasonSelect, then) {
    var presets = document.getElementById("deny-prompt-reason");
    presets.replaceChildren();
    Array.prototype.forEach.call(reasonSelect ? reasonSelect.options : [], function (option) {
      presets.appendChild(new Option(option.text, option.value));
    });
    presets.closest(".field").hidden = presets.options.length <= 1;
    document.getElementById("deny-prompt-text").value = "";
    document.getElementById("deny-prompt-error").hidden = true;
    onDeny = then;
    prompt.showModal();
    (presets.closest(".field").hidden ? document.getElementById("deny-prompt-text") : presets).focus();
  }
  if (prompt) {
    document.getElementById("deny-prompt-form").addEventListener("submit", function (e) {
      var preset = document.getElementById("deny-prompt-reason").value;
      var text = document.getElementById("deny-prompt-text").value.trim();
      if (!preset && !text) {
        e.preventDefault();
        document.getElementById("deny-prompt-error").hidden = false;
        document.getElementById("deny-prompt-text").focus();
        return;
      }
      var then = onDeny;
      onDeny = null;
      if (then) { then(preset, text); }
    });
    document.getElementById("deny-prompt-cancel").addEventListener("click", function () { prompt.close(); });
  }

  function denyThrough(form, button) {
    var reason = form.querySelector("select[name=deny_reason]");
    var comment = form.querySelector("textarea[name=comment]");
    askReason(reason, function (preset, text) {
      if (reason) { reason.value = preset; }
      if (comment && text) { comment.value = text; }
      form.requestSubmit(button);
    });
  }

  // A click on Deny with no reason given asks for it too (the server would refuse it, keeping the form).
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    if (!prompt || !button || button.name !== "resolution" || button.value !== "denied") { return; }
    var reason = e.target.querySelector("select[name=deny_reason]");
    var comment = e.target.querySelector("textarea[name=comment]");
    if ((reason && reason.value) || (comment && comment.value.trim())) { return; }
    e.preventDefault();
    denyThrough(e.target, button);
  });

  // ---- The queue: rows, selection, the batch bar.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#approval-rows tr[data-approval]")); }
  function focusedRow() {
    var active = document.activeElement;
    return active instanceof Element ? active.closest("#approval-rows tr[data-approval]") : null;
  }
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll('#approval-rows input[name=approval]')); }
  function countSelected() {
    var count = document.getElementById("selected-count");
    var matching = document.getElementById("select-matching");
    if (!count) { return; }
    count.textContent = matching && matching.checked ? matching.dataset.count : String(boxes().filter(function (b) { return b.checked; }).length);
  }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var at = all.indexOf(focusedRow());
    var next = at === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    keyFocus(all[next]);
  }
  // Focus a row from the keyboard, visibly: a row focused by script keeps the ring (`keyed`) even when a
  // live update had just replaced the row that had it, which :focus-visible alone would not show.
  function keyFocus(row) {
    row.classList.add("keyed");
    row.addEventListener("blur", function () { row.classList.remove("keyed"); }, {once: true});
    row.focus();
  }
  function decideFromQueue(resolution) {
    var chosen = boxes().some(function (b) { return b.checked; }) ||
      (document.getElementById("select-matching") || {}).checked;
    if (!chosen) {
      var row = focusedRow();
      if (!row) { return; }
      row.querySelector("input[name=approval]").checked = true;
      countSelected();
    }
    if (resolution === "approved") {
      batchForm.requestSubmit(document.getElementById("batch-approve"));
    } else {
      denyThrough(batchForm, document.getElementById("batch-deny"));
    }
  }

  if (page === "queue" && batchForm) {
    // "All matching" ticks every row shown; unticking a row takes "all matching" back.
    document.addEventListener("change", function (e) {
      if (!(e.target instanceof Element) || e.target.getAttribute("form") !== "batch-form") { return; }
      var matching = document.getElementById("select-matching");
      if (e.target === matching) {
        boxes().forEach(function (b) { b.checked = matching.checked; });
      } else if (matching && !e.target.checked) {
        matching.checked = false;
      }
      countSelected();
    });
    // A live update swaps the rows: what the reviewer ticked, and the row in focus, survive it.
    var kept = null;
    document.addEventListener("htmx:oobBeforeSwap", function (e) {
      if (e.detail.target.id !== "approval-rows") { return; }
      var row = focusedRow();
      kept = {
        checked: Array.prototype.map.call(document.querySelectorAll("#approval-rows input[type=checkbox]:checked"),
          function (b) { return b.name + "=" + b.value; }),
        focused: row ? row.dataset.approval : null,
      };
    });
    document.addEventListener("htmx:oobAfterSwap", function (e) {
      if (e.detail.target.id !== "approval-rows" || !kept) { return; }
      document.querySelectorAll("#approval-rows input[type=checkbox]").forEach(function (b) {
        if (kept.checked.indexOf(b.name + "=" + b.value) !== -1) { b.checked = true; }
      });
      var matching = document.getElementById("select-matching");
      if (matching && matching.checked) { boxes().forEach(function (b) { b.checked = true; }); }
      if (kept.focused) {
        var row = document.querySelector('#approval-rows tr[data-approval="' + CSS.escape(kept.focused) + '"]');
        if (row) { keyFocus(row); }
      }
      kept = null;
      countSelected();
    });
    countSelected();
  }

  // ---- The approval page.
  var nav = document.getElementById("review-nav");
  function resolveForm() {
    var approve = document.getElementById("approve");
    return approve ? approve.form : null;
  }

  var actions = {
    j: function () { if (page === "queue") { move(1); } else if (nav && nav.dataset.nextUrl) { location.href = nav.dataset.nextUrl; } },
    k: function () { if (page === "queue") { move(-1); } else if (nav && nav.dataset.previousUrl) { location.href = nav.dataset.previousUrl; } },
    x: function () {
      var row = page === "queue" && focusedRow();
      if (!row) { return; }
      var box = row.querySelector("input[name=approval]");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", {bubbles: true}));
    },
    a: function () {
      if (page === "queue") { decideFromQueue("approved"); return; }
      var form = resolveForm();
      if (form) { form.requestSubmit(document.getElementById("approve")); }
    },
    d: function () {
      if (page === "queue") { decideFromQueue("denied"); return; }
      var form = resolveForm();
      if (form) { denyThrough(form, document.getElementById("deny")); }
    },
    e: function () {
      var edit = page === "queue" ? (focusedRow() || {dataset: {}}).dataset.editUrl : nav && nav.dataset.editUrl;
      if (edit) { location.href = edit; return; }
      var comment = (page === "queue" ? batchForm : resolveForm() || document).querySelector("textarea[name=comment]");
      if (comment) { comment.focus(); }
    },
    "?": function () { help.showModal(); },
    Enter: function (row) { location.href = row.dataset.detailUrl; },
  };

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) { return; }
    var action = actions[e.key];
    // Enter is the rows' own (open the request); on a link or button it stays theirs.
    if (!action || e.key === "Enter" && !(e.target instanceof Element && e.target.matches("tr[data-approval]"))) {
      return;
    }
    e.preventDefault();
    action(e.target);
  });

  var showKeys = document.getElementById("show-keys");
  if (showKeys) {
    showKeys.hidden = false;
    showKeys.addEventListener("click", function () { help.showModal(); });
  }
})();
