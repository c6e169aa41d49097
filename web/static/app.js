// Amanat's only script: passkey ceremonies and uploads with a progress bar.
// No framework; works in any browser with WebAuthn (and degrades to plain forms for uploads).
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  // Translated messages come from the page (data-msg-* on <body>), English as a fallback.
  function msg(name, fallback) {
    var value = document.body && document.body.getAttribute("data-msg-" + name);
    return value || fallback;
  }

  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(json) {
    var pk = Object.assign({}, json.publicKey);
    pk.challenge = b64uToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64uToBuf(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64uToBuf(c.id) });
    });
    return { publicKey: pk };
  }
  function requestOptions(json) {
    var pk = Object.assign({}, json.publicKey);
    pk.challenge = b64uToBuf(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = pk.allowCredentials.map(function (c) {
        return Object.assign({}, c, { id: b64uToBuf(c.id) });
      });
    }
    return { publicKey: pk };
  }
  function credentialJSON(cred) {
    var r = cred.response, response = { clientDataJSON: bufToB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = bufToB64u(r.authenticatorData);
      response.signature = bufToB64u(r.signature);
      if (r.userHandle) response.userHandle = bufToB64u(r.userHandle);
    }
    return {
      id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.message || ("Error " + res.status));
        return data;
      });
    });
  }
  function showError(form, message) {
    var el = form.querySelector(".error");
    if (el) { el.textContent = message; el.hidden = false; el.focus && el.focus(); }
  }
  function clearError(form) {
    var el = form.querySelector(".error");
    if (el) { el.hidden = true; el.textContent = ""; }
  }
  function field(form, name) {
    var el = form.elements[name];
    return el ? el.value : "";
  }
  function friendly(err) {
    if (err && err.name === "NotAllowedError") return msg("cancelled", "The passkey request was cancelled or timed out. Please try again.");
    if (err && err.name === "InvalidStateError") return msg("exists", "This device already has a passkey for this account.");
    return (err && err.message) || msg("generic", "Something went wrong. Please try again.");
  }

  var flows = {
    register: function (form) {
      return post("/register/begin", { name: field(form, "name"), cnic: field(form, "cnic") })
        .then(function (start) {
          return navigator.credentials.create(creationOptions(start.options)).then(function (cred) {
            return post("/register/complete", {
              token: start.token, credential: credentialJSON(cred), passkey_name: field(form, "passkey_name")
            });
          });
        });
    },
    login: function (form) {
      var next = form.getAttribute("data-next") || "";
      return post("/login/begin", { login: field(form, "login") }).then(function (start) {
        return navigator.credentials.get(requestOptions(start.options)).then(function (cred) {
          return post("/login/complete" + (next ? "?next=" + encodeURIComponent(next) : ""),
                      { token: start.token, credential: credentialJSON(cred) });
        });
      });
    },
    add: function (form) {
      return post("/security/passkeys/begin", {}).then(function (start) {
        return navigator.credentials.create(creationOptions(start.options)).then(function (cred) {
          return post("/security/passkeys/complete", {
            token: start.token, credential: credentialJSON(cred), passkey_name: field(form, "passkey_name")
          });
        });
      });
    }
  };

  function bindWebAuthn(form) {
    var flow = flows[form.getAttribute("data-webauthn")];
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearError(form);
      if (!window.PublicKeyCredential) {
        showError(form, msg("no-passkeys", "This browser cannot use passkeys. Please update it, or sign in with a password or recovery code."));
        return;
      }
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      flow(form).then(function (done) {
        window.location.assign(done.redirect || "/");
      }).catch(function (err) {
        showError(form, friendly(err));
      }).then(function () { if (button) button.disabled = false; });
    });
  }

  function bindUpload(form) {
    form.addEventListener("submit", function (ev) {
      if (!window.XMLHttpRequest || !window.FormData) return; // plain form post
      ev.preventDefault();
      clearError(form);
      var bar = form.querySelector("progress"), text = form.querySelector(".progress-text");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("X-Requested-With", "fetch");
      xhr.setRequestHeader("Accept", "application/json");
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (button) button.disabled = true;
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && bar) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          if (text) text.textContent = pct + "%";
        }
      };
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) {
          window.location.assign(data.redirect || window.location.href);
        } else {
          if (bar) bar.hidden = true;
          if (text) text.textContent = "";
          if (button) button.disabled = false;
          showError(form, data.message || (msg("upload-failed", "The upload failed.") + " (" + xhr.status + ")"));
        }
      };
      xhr.onerror = function () {
        if (button) button.disabled = false;
        showError(form, msg("offline", "The connection was lost. Please try again."));
      };
      xhr.send(new FormData(form));
    });
  }

  function bindConfirm(form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-webauthn]"), bindWebAuthn);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-upload]"), bindUpload);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), bindConfirm);
  });
})();
