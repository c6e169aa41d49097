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
    consent: function (form) {
      // The challenge is the hash of the terms shown on the page: the passkey signs them.
      var options = JSON.parse(form.getAttribute("data-options"));
      return navigator.credentials.get(requestOptions(options)).then(function (cred) {
        return post("/shares/confirm", { token: form.getAttribute("data-token"), credential: credentialJSON(cred) });
      });
    },
    step: function (form) {
      // A passkey confirms one action of the page (closing the account, calling it off).
      var options = JSON.parse(form.getAttribute("data-options"));
      return navigator.credentials.get(requestOptions(options)).then(function (cred) {
        return post(form.getAttribute("data-action"), { token: form.getAttribute("data-token"), credential: credentialJSON(cred) });
      });
    },
    recover: function (form) {
      // A one-time recovery link from a service centre: a new passkey for the account.
      return post(form.getAttribute("data-begin"), {}).then(function (start) {
        return navigator.credentials.create(creationOptions(start.options)).then(function (cred) {
          return post(form.getAttribute("data-complete"), {
            token: start.token, credential: credentialJSON(cred), passkey_name: field(form, "passkey_name")
          });
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

  // A new link share: the secret arrives in the fragment (never sent to the server); show it once.
  function showNewLink() {
    var box = document.getElementById("new-link");
    var m = /^#link=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
    if (!box || !m) return;
    var input = document.getElementById("share-link");
    input.value = box.getAttribute("data-link-base") + "#" + m[1];
    box.hidden = false;
    history.replaceState(null, "", window.location.pathname);
    input.focus(); input.select();
  }
  // The link's landing page: the access code is the fragment.
  function openLink(form) {
    var code = window.location.hash.replace(/^#/, "");
    if (!/^[A-Za-z0-9_-]{20,}$/.test(code)) return;
    form.elements.secret.value = code;
    form.submit();
  }

  document.addEventListener("DOMContentLoaded", function () {
    showNewLink();
    var linkForm = document.querySelector("form[data-link-secret]");
    if (linkForm) openLink(linkForm);
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
    if (len < 65536) return [(major << 5) | 25, len >> 8, len & 255];
    return [(major << 5) | 26, (len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255];
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
        // A value in Latin letters inside an Urdu page: kept whole and read as English.
        if (/[A-Za-z]/.test(pair[1]) && !/[\u0600-\u06FF]/.test(pair[1])) { dd.lang = "en"; dd.dir = "ltr"; }
        dl.appendChild(dt); dl.appendChild(dd);
      });
    }
  }
  // The signed status list (Token Status List, CWT): kept on this device until it expires, so a
  // check without a connection still says how fresh its revocation information is.
  function statusList(list) {
    var signer = list.status_list || {}, cached = null;
    try { cached = JSON.parse(localStorage.getItem("amanat-status-list") || "null"); } catch (e) { cached = null; }
    var fresh = cached && cached.uri === signer.uri && Date.now() - cached.fetched < 60 * 1000;
    var fetched = fresh ? Promise.reject(new Error("fresh")) :
      fetch("/api/v1/status-list", { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.arrayBuffer();
      }).then(function (buf) {
        var token = new Uint8Array(buf), text = "";
        for (var i = 0; i < token.length; i++) text += String.fromCharCode(token[i]);
        try { localStorage.setItem("amanat-status-list", JSON.stringify({ uri: signer.uri, fetched: Date.now(), token: btoa(text) })); } catch (e) { /* full */ }
        return token;
      });
    return fetched.catch(function () {
      if (!cached || cached.uri !== signer.uri) throw new Error("no status list");
      return b64(cached.token);
    }).then(function (token) { return readStatusList(token, signer); });
  }
  function readStatusList(token, signer) {
    var msg = decode(token);
    if (!msg || msg.tag !== 18 || !signer.spki) throw new Error("not a status list");
    var prot = msg.value[0], payload = msg.value[2], signature = msg.value[3], header = decode(prot);
    if (header.get(16) !== "application/statuslist+cwt" || hex(header.get(4)) !== signer.kid) throw new Error("not ours");
    return crypto.subtle.importKey("spki", b64(signer.spki), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .then(function (key) { return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, sigStructure(prot, payload)); })
      .then(function (ok) {
        var claims = decode(payload), body = claims.get(65533);
        if (!ok || claims.get(2) !== signer.uri || !body || body.get("bits") !== 1) throw new Error("untrusted status list");
        var inflated = new Response(new Blob([body.get("lst")]).stream().pipeThrough(new DecompressionStream("deflate")));
        return inflated.arrayBuffer().then(function (bits) {
          return { bits: new Uint8Array(bits), issued: claims.get(6) * 1000, expires: claims.get(4) * 1000 };
        });
      });
  }
  function showStatus(box, idx, listed) {
    var p = box.querySelector(".qr-status"), now = Date.now(), kind;
    var asOf = new Date(listed.issued).toLocaleString(document.documentElement.lang || "en",
      { timeZone: p.getAttribute("data-tz") || undefined, dateStyle: "medium", timeStyle: "short", hourCycle: "h23" });
    var hours = Math.max(0, Math.floor((now - listed.issued) / 3600000));
    if (now >= listed.expires) kind = "expired";
    else if (idx >= listed.bits.length * 8) kind = "unknown";
    else if ((listed.bits[idx >> 3] >> (idx & 7)) & 1) kind = "revoked";
    else kind = hours < 1 ? "recent" : "valid";
    // The date goes in its own <bdi>, so that it reads whole inside a right-to-left line.
    var parts = p.getAttribute("data-" + kind).replace("{hours}", String(hours)).split("{as_of}");
    var date = document.createElement("bdi");
    date.textContent = asOf;
    p.textContent = parts[0];
    if (parts.length > 1) { p.appendChild(date); p.appendChild(document.createTextNode(parts[1])); }
    p.hidden = false;
    if (kind === "revoked") box.className = "verdict failed";
    else if (kind === "expired" || kind === "unknown") box.className = "verdict indeterminate";
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
        var labels = {};
        try { labels = JSON.parse(box.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
        var names = {};
        try { names = JSON.parse(box.getAttribute("data-departments") || "{}"); } catch (e) { names = {}; }
        // Field "x:ur" is the Urdu value of field "x": an Urdu reader sees it in its place.
        var fields = claims.get(-70004), urdu = document.documentElement.lang === "ur";
        var local = function (k, v) { return (urdu && fields && fields.get && fields.get(k + ":ur")) || v; };
        var rows = [[labels[":department"] || "Department", names[claims.get(1)] || claims.get(1)],
                    [labels[":holder"] || "Holder", local("name", claims.get(-70003))]];
        if (fields && fields.forEach) fields.forEach(function (v, k) {
          if (String(k).slice(-3) !== ":ur") rows.push([labels[k] || k, local(k, v)]);
        });
        show(box, "ok", rows);
        var idx = claims.get(-70006);
        if (typeof idx === "number" && window.DecompressionStream) {
          statusList(list).then(function (listed) { showStatus(box, idx, listed); })
            .catch(function (e) { if (window.console) console.error("status list: " + e); });
        }
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

// The activity page's "check" button: inclusion proofs of the shown events against the latest
// signed tree head, verified here with WebCrypto (RFC 9162 hashing; docs/ledger.md).
(function () {
  var enc = new TextEncoder();
  function unb64(s) { var bin = atob(s), out = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i); return out; }
  function concat() {
    var n = 0, i; for (i = 0; i < arguments.length; i++) n += arguments[i].length;
    var out = new Uint8Array(n), o = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], o); o += arguments[i].length; }
    return out;
  }
  function sha(bytes) { return crypto.subtle.digest("SHA-256", bytes).then(function (b) { return new Uint8Array(b); }); }
  function nodeHash(l, r) { return sha(concat(new Uint8Array([1]), l, r)); }
  function equal(a, b) { if (a.length !== b.length) return false; for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false; return true; }
  function u64(n) { var out = new Uint8Array(8); for (var i = 7; i >= 0; i--) { out[i] = n % 256; n = Math.floor(n / 256); } return out; }
  // RFC 9162 2.1.3.2
  function verifyInclusion(leaf, index, size, path, root) {
    var fn = index, sn = size - 1, r = Promise.resolve(leaf), i = 0;
    function step(current) {
      if (i === path.length) return sn === 0 && equal(current, root);
      var p = path[i++];
      if (sn === 0) return false;
      var next;
      if (fn % 2 === 1 || fn === sn) {
        next = nodeHash(p, current);
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        next = nodeHash(current, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
      return next.then(step);
    }
    return r.then(step);
  }
  // RFC 9162 2.1.4.2
  function verifyConsistency(m, n, oldRoot, newRoot, proof) {
    if (m === n) return Promise.resolve(proof.length === 0 && equal(oldRoot, newRoot));
    var items = proof.slice();
    if ((m & (m - 1)) === 0) items.unshift(oldRoot);
    if (!items.length) return Promise.resolve(false);
    var fn = m - 1, sn = n - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    var fr = items[0], sr = items[0], i = 1;
    function step() {
      if (i === items.length) return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
      var c = items[i++];
      if (sn === 0) return false;
      var work;
      if (fn % 2 === 1 || fn === sn) {
        work = Promise.all([nodeHash(c, fr), nodeHash(c, sr)]).then(function (h) { fr = h[0]; sr = h[1]; });
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        work = nodeHash(sr, c).then(function (h) { sr = h; });
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
      return work.then(step);
    }
    return Promise.resolve().then(step);
  }
  function verifyHead(head) {
    var message = concat(enc.encode("amanat-sth/1\n"), u64(head.tree_size), u64(head.timestamp), unb64(head.root_hash));
    return crypto.subtle.importKey("spki", unb64(head.public_key), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .then(function (key) { return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, unb64(head.signature), message); });
  }
  // Remember the ledger key and the last head seen here: a changed key or a history that does
  // not extend the last one is reported.
  function checkAgainstLastSeen(head) {
    var last = null;
    try { last = JSON.parse(localStorage.getItem("amanat-ledger-head") || "null"); } catch (e) { last = null; }
    var save = function () {
      try { localStorage.setItem("amanat-ledger-head", JSON.stringify({ key: head.public_key, size: head.tree_size, root: head.root_hash })); } catch (e) { /* private mode */ }
      return true;
    };
    if (!last) return Promise.resolve(save());
    if (last.key !== head.public_key || last.size > head.tree_size) return Promise.resolve(false);
    if (last.size === head.tree_size) return Promise.resolve(last.root === head.root_hash && save());
    return fetch("/api/v1/ledger/consistency?from=" + last.size + "&to=" + head.tree_size, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) return true; // no signed head of that exact size any more is not evidence of tampering
        return verifyConsistency(last.size, head.tree_size, unb64(last.root), unb64(head.root_hash), c.proof.map(unb64))
          .then(function (ok) { return ok && save(); });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("ledger-check");
    if (!box || !window.crypto || !crypto.subtle) return;
    var button = document.getElementById("check-ledger"), out = box.querySelector(".ledger-result");
    button.hidden = false;
    button.addEventListener("click", function () {
      var items = Array.prototype.slice.call(document.querySelectorAll(".activity li[data-event]"));
      var byEvent = {};
      items.forEach(function (li) { byEvent[li.getAttribute("data-event")] = li; });
      out.textContent = box.getAttribute("data-checking");
      var query = items.map(function (li) { return "event=" + li.getAttribute("data-event"); }).join("&");
      var bad = function (event) { out.textContent = box.getAttribute("data-bad").replace("{event}", event); box.setAttribute("data-result", "bad"); };
      fetch("/activity/proofs?" + query, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        var head = data.tree_head, root = unb64(head.root_hash);
        return verifyHead(head).then(function (signed) {
          if (!signed) return bad("(tree head)");
          return checkAgainstLastSeen(head).then(function (consistent) {
            if (!consistent) return bad("(tree head history)");
            return Promise.all(data.proofs.map(function (p) {
              var entry = unb64(p.entry), li = byEvent[String(p.event)];
              var fields = JSON.parse(new TextDecoder().decode(entry.slice(32)));
              // The entry must be the event shown on the page: number, time and kind.
              var shown = li && fields.seq === p.event && fields.at === li.getAttribute("data-at") && fields.tag === li.getAttribute("data-tag");
              return sha(concat(new Uint8Array([0]), entry)).then(function (leaf) {
                return verifyInclusion(leaf, p.leaf_index, head.tree_size, p.path.map(unb64), root);
              }).then(function (ok) { return ok && shown ? null : p.event; });
            })).then(function (results) {
              var failed = results.filter(function (x) { return x !== null; });
              if (failed.length) return bad(failed[0]);
              out.textContent = box.getAttribute("data-ok").replace("{n}", data.proofs.length)
                .replace("{size}", head.tree_size).replace("{at}", head.signed_at);
              box.setAttribute("data-result", "ok");
            });
          });
        });
      }).catch(function (e) { if (window.console) console.error("ledger check: " + e); bad("?"); });
    });
  });
})();

// /verify: scan a certificate's QR code with the device camera. The browser's own BarcodeDetector
// reads it on the device when there is one; otherwise single frames (640 px, JPEG) go to
// /verify/scan, one at a time, and are read there and dropped.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("scan");
    if (!box || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var start = document.getElementById("scan-start"), stop = document.getElementById("scan-stop");
    var video = document.getElementById("scan-video"), status = box.querySelector(".scan-status");
    var stream = null, timer = null, busy = false, detector = null;
    start.hidden = false;
    function say(name) { status.textContent = box.getAttribute("data-" + name) || ""; }
    function end() {
      if (timer) clearInterval(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null; video.hidden = true; stop.hidden = true; start.hidden = false;
    }
    function go(location) { say("found"); end(); window.location.assign(location); }
    function frame() {
      var canvas = document.createElement("canvas");
      var scale = Math.min(1, 640 / (video.videoWidth || 640));
      canvas.width = Math.round((video.videoWidth || 640) * scale);
      canvas.height = Math.round((video.videoHeight || 480) * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return canvas;
    }
    function tick() {
      if (busy || !stream || video.readyState < 2) return;
      busy = true;
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (!codes.length) return;
          var text = codes[0].rawValue || "";
          // A certificate link opens on this site with its fragment, which is never sent.
          var at = text.indexOf("/v/");
          if (at >= 0 && /^[0-9A-Za-z-]{1,40}(#AM1\.[A-Za-z0-9_-]+)?$/.test(text.slice(at + 3))) go(text.slice(at));
          else go("/verify/lookup?serial=" + encodeURIComponent(text));
        }).catch(function () { detector = null; }).then(function () { busy = false; });
        return;
      }
      frame().toBlob(function (blob) {
        fetch("/verify/scan", { method: "POST", credentials: "same-origin", body: blob,
          headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": csrf, "X-Requested-With": "fetch" } })
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.found) go(data.location);
            else if (data.message) status.textContent = data.message;
          })
          .catch(function () { /* try the next frame */ })
          .then(function () { busy = false; });
      }, "image/jpeg", 0.8);
    }
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; start.hidden = true; stop.hidden = false;
        video.play();
        say("looking");
        var make = window.BarcodeDetector && BarcodeDetector.getSupportedFormats
          ? BarcodeDetector.getSupportedFormats() : Promise.resolve([]);
        make.then(function (formats) {
          if (formats.indexOf("qr_code") >= 0) detector = new BarcodeDetector({ formats: ["qr_code"] });
        }).catch(function () { detector = null; }).then(function () {
          timer = setInterval(tick, detector ? 300 : 1200);
        });
      }).catch(function () { say("denied"); end(); });
    });
    stop.addEventListener("click", end);
    window.addEventListener("pagehide", end);
  });
})();
