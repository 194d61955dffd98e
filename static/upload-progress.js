// Upload progress for forms marked data-upload-progress (templates/_macros/upload.html).
// htmx sends the (boosted) form by XHR and reports progress; this shows it, keeps the
// submit button disabled while the request is in flight, and refuses, before sending,
// files larger together than the form accepts. Without JavaScript the form posts as usual.
(function () {
  "use strict";

  function uploadForm(event) {
    var elt = event.target;
    return elt && elt.closest ? elt.closest("form[data-upload-progress]") : null;
  }

  function part(form, selector) {
    return form.querySelector(selector);
  }

  function busy(form, on) {
    form.querySelectorAll("button:not([type=button]), input[type=submit]").forEach(function (b) {
      b.disabled = on;
    });
    var bar = part(form, "progress[data-upload-bar]");
    if (bar) {
      bar.hidden = !on;
      bar.value = 0;
    }
  }

  function say(form, key) {
    var note = part(form, "[data-upload-message]");
    if (note) note.textContent = key ? note.getAttribute(key) || "" : "";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = uploadForm(event);
    if (!form) return;
    var note = part(form, "[data-upload-message]");
    var limit = note && note.hasAttribute("data-max-total") ? Number(note.getAttribute("data-max-total")) : Infinity;
    var total = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
    });
    if (total > limit) {
      event.preventDefault();
      say(form, "data-too-large");
      return;
    }
    say(form, null);
    busy(form, true);
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = uploadForm(event);
    var bar = form && part(form, "progress[data-upload-bar]");
    var d = event.detail;
    // htmx reports upload and download progress alike: the bar only moves forward.
    if (bar && d.lengthComputable && d.total > 0) {
      bar.value = Math.max(bar.value, Math.round(100 * d.loaded / d.total));
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = uploadForm(event);
    if (!form) return;
    busy(form, false);
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status === 413) say(form, "data-too-large");
  });
})();
