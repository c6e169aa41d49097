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

// QR landing page: check the signed fragment on this device (it is never sent to the server).
(function () {
  "use strict";
  function b64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function b64(s) { return b64u(s.replace(/\+/g, "-").replace(/\//g, "_")); }
  // Minimal CBOR decoder: enough for COSE_Sign1 and CWT claims.
  function decode(bytes) {
    var pos = 0;
    function uint(info) {
      if (info < 24) return info;
      var n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
      if (n < 0) throw new Error("bad length");
      var v = 0;
      for (var i = 0; i < n; i++) v = v * 256 + bytes[pos++];
      return v;
    }
    function item() {
      var b = bytes[pos++], major = b >> 5, info = b & 31, len, out, i;
      if (major === 0) return uint(info);
      if (major === 1) return -1 - uint(info);
      if (major === 2) { len = uint(info); out = bytes.slice(pos, pos + len); pos += len; return out; }
      if (major === 3) { len = uint(info); out = new TextDecoder().decode(bytes.slice(pos, pos + len)); pos += len; return out; }
      if (major === 4) { len = uint(info); out = []; for (i = 0; i < len; i++) out.push(item()); return out; }
      if (major === 5) { len = uint(info); out = new Map(); for (i = 0; i < len; i++) { var k = item(); out.set(k, item()); } return out; }
      if (major === 6) { var tag = uint(info); return { tag: tag, value: item() }; }
      throw new Error("unsupported CBOR");
    }
    var value = item();
    if (pos !== bytes.length) throw new Error("trailing bytes");
    return value;
  }
  function head(major, len) {
    if (len < 24) return [(major << 5) | len];
    if (len < 256) return [(major << 5) | 24, len];
    return [(major << 5) | 25, len >> 8, len & 255];
  }
  function sigStructure(protectedBytes, payload) {
    var text = new TextEncoder().encode("Signature1"), parts = [];
    parts.push(head(4, 4), head(3, text.length), Array.from(text), head(2, protectedBytes.length),
               Array.from(protectedBytes), head(2, 0), head(2, payload.length), Array.from(payload));
    return new Uint8Array([].concat.apply([], parts));
  }
  function hex(bytes) { return Array.from(bytes).map(function (b) { return ("0" + b.toString(16)).slice(-2); }).join(""); }
  function trustList() {
    var cached = null;
    try { cached = JSON.parse(localStorage.getItem("amanat-trust-list") || "null"); } catch (e) { cached = null; }
    if (cached && Date.now() - cached.fetched < 24 * 3600 * 1000) return Promise.resolve(cached.list);
    return fetch("/api/v1/trust-list", { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (list) {
      try { localStorage.setItem("amanat-trust-list", JSON.stringify({ fetched: Date.now(), list: list })); } catch (e) { /* full */ }
      return list;
    }).catch(function () { return cached ? cached.list : { certificates: [] }; });
  }
  function show(box, kind, claims) {
    var p = box.querySelector(".qr-result");
    p.textContent = p.getAttribute("data-" + kind);
    box.className = "verdict " + (kind === "ok" ? "passed" : "failed");
    if (claims) {
      var dl = box.querySelector(".qr-claims");
      claims.forEach(function (pair) {
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = pair[0]; dd.textContent = pair[1];
        dl.appendChild(dt); dl.appendChild(dd);
      });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("qr-check");
    var fragment = window.location.hash.slice(1);
    if (!box || fragment.indexOf("AM1.") !== 0 || !window.crypto || !window.crypto.subtle) return;
    box.hidden = false;
    box.querySelector(".qr-result").textContent = box.querySelector(".qr-result").getAttribute("data-checking");
    var msg, protectedBytes, payload, signature, kid;
    try {
      msg = decode(b64u(fragment.slice(4)));
      if (!msg || msg.tag !== 18) throw new Error("not COSE_Sign1");
      protectedBytes = msg.value[0]; payload = msg.value[2]; signature = msg.value[3];
      kid = hex(decode(protectedBytes).get(4));
    } catch (e) { if (window.console) console.error("qr decode: " + e); show(box, "bad"); return; }
    trustList().then(function (list) {
      var candidates = (list.certificates || []).filter(function (c) { return c.kid === kid; });
      if (!candidates.length) { show(box, "unknown"); return; }
      var data = sigStructure(protectedBytes, payload);
      var attempts = candidates.map(function (c) {
        return crypto.subtle.importKey("spki", b64(c.spki), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
          .then(function (key) { return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, data); })
          .catch(function () { return false; });
      });
      return Promise.all(attempts).then(function (results) {
        var claims = decode(payload);
        var genuine = results.some(Boolean) && claims.get(-70001) === box.getAttribute("data-serial");
        if (!genuine) { show(box, "bad"); return; }
        var rows = [["Department", claims.get(1)], ["Holder", claims.get(-70003)]];
        var fields = claims.get(-70004);
        if (fields && fields.forEach) fields.forEach(function (v, k) { rows.push([k, v]); });
        show(box, "ok", rows);
      });
    }).catch(function (e) { if (window.console) console.error("qr check: " + e); show(box, "bad"); });
  });
})();

// /verify: drag and drop, and a progress bar while the PDF uploads (plain form post without JS).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-verify]");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    var input = form.querySelector("input[type=file]");
    var hint = form.querySelector(".drop-hint");
    if (hint) hint.hidden = false;
    form.addEventListener("dragover", function (e) { e.preventDefault(); form.classList.add("dragging"); });
    form.addEventListener("dragleave", function () { form.classList.remove("dragging"); });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      form.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var bar = form.querySelector("progress"), text = form.querySelector(".progress-text");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "text/html");
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && bar) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (text) text.textContent = bar.value + "%";
        }
      };
      xhr.onload = function () {
        // The answer is a whole page: show it as the page.
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = function () { if (text) text.textContent = "The connection was lost. Please try again."; };
      xhr.send(new FormData(form));
    });
  });
})();
