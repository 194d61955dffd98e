// Passkeys (WebAuthn) for forms marked data-passkey="create" or "get" (templates/passkeys/_ceremony.html).
// Such a form stays hidden unless this browser can do WebAuthn; then its submit asks the server for
// the ceremony's options (data-passkey-options), lets the browser talk to the authenticator
// (navigator.credentials.create or .get), and posts the answer as JSON to the form's action. The
// server answers {"redirect": url} or {"error": message}. Without JavaScript the form never shows,
// and the page's other ways (a code, a password, e-identity) work as before.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return {type: d.type, id: toBytes(d.id), transports: d.transports};
    });
  }

  function creationOptions(o) {
    var options = Object.assign({}, o, {
      challenge: toBytes(o.challenge),
      user: Object.assign({}, o.user, {id: toBytes(o.user.id)}),
      excludeCredentials: descriptors(o.excludeCredentials)
    });
    return {publicKey: options};
  }

  function requestOptions(o) {
    var options = Object.assign({}, o, {
      challenge: toBytes(o.challenge),
      allowCredentials: descriptors(o.allowCredentials)
    });
    return {publicKey: options};
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var response = {clientDataJSON: toText(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  function say(form, text) {
    var note = form.querySelector("[data-passkey-message]");
    if (note) note.textContent = text || "";
  }

  function post(form, url, body) {
    var token = form.querySelector("input[name=csrf_token]");
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        // Not an answer of the ceremony: e.g. sent to confirm a recent sign-in first. Go there.
        window.location.assign(response.url);
        return new Promise(function () {});
      }
      return response.json();
    });
  }

  function run(form) {
    var kind = form.getAttribute("data-passkey");
    var name = form.querySelector("input[name=name]");
    if (name && !name.value.trim()) {
      say(form, form.querySelector("[data-passkey-message]").getAttribute("data-unnamed"));
      name.focus();
      return;
    }
    var failed = form.querySelector("[data-passkey-message]").getAttribute("data-failed");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say(form, "");
    post(form, form.getAttribute("data-passkey-options"), {}).then(function (options) {
      if (options.error) throw new Error(options.error);
      return kind === "create" ? navigator.credentials.create(creationOptions(options))
                               : navigator.credentials.get(requestOptions(options));
    }).then(function (credential) {
      var body = {credential: credentialJSON(credential)};
      if (name) body.name = name.value;
      return post(form, form.action, body);
    }).then(function (answer) {
      if (answer.redirect) {
        window.location.assign(answer.redirect);
        return;
      }
      throw new Error(answer.error || failed);
    }).catch(function (error) {
      // The person cancelled, or the authenticator refused: the browser says so in its own words.
      say(form, error && error.name === "Error" && error.message ? error.message : failed);
      button.disabled = false;
    });
  }

  function start() {
    var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      if (!supported || form.hasAttribute("data-passkey-ready")) return;
      form.setAttribute("data-passkey-ready", "");
      form.hidden = false;
      var missing = form.nextElementSibling;
      if (missing && missing.hasAttribute("data-passkey-missing")) missing.hidden = true;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(form);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // A page htmx brought in (a boosted link, a swapped fragment) gets its forms ready too.
  document.addEventListener("htmx:load", start);
})();
