/* Passkeys in Tamkeen's pages. A static file, never inline: the pages' Content-Security-Policy
 * allows no inline script.
 *
 * 1. Enrolment: when django-otp-webauthn's registration script says the new passkey is saved
 *    ("otp_webauthn.register_complete"), go to the page named by data-next of the
 *    [data-passkey-registration] element (the recovery codes, then back).
 * 2. Step-up: a [data-passkey-stepup] button (data-begin-url) asks the server for a challenge,
 *    the browser for the passkey's answer, puts it in its form's input[name=passkey_response]
 *    and submits the form; the server checks the answer with the act it confirms.
 * 3. A [data-print-page] button prints the page (the recovery codes).
 */
(function () {
  "use strict";
  if (window.tamkeenPasskeys) {
    return;
  }
  window.tamkeenPasskeys = true;

  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function requestOptions(options) {
    return {
      challenge: toBuffer(options.challenge),
      rpId: options.rpId,
      timeout: options.timeout,
      userVerification: options.userVerification,
      allowCredentials: (options.allowCredentials || []).map(function (credential) {
        return { type: credential.type, id: toBuffer(credential.id), transports: credential.transports };
      }),
    };
  }

  function answerOf(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        authenticatorData: toBase64url(response.authenticatorData),
        clientDataJSON: toBase64url(response.clientDataJSON),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
      },
    };
  }

  async function stepUp(button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-passkey-status]");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    button.disabled = true;
    if (status) {
      status.textContent = "";
    }
    try {
      var begin = await fetch(button.dataset.beginUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", Accept: "application/json" },
      });
      if (!begin.ok) {
        throw new Error("no challenge: " + begin.status);
      }
      var credential = await navigator.credentials.get({ publicKey: requestOptions(await begin.json()) });
      form.querySelector("input[name=passkey_response]").value = JSON.stringify(answerOf(credential));
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
    } catch (error) {
      console.error(error);
      button.disabled = false;
      if (status) {
        status.textContent = status.dataset.failed || String(error);
      }
    }
  }

  document.addEventListener("click", function (event) {
    var stepup = event.target.closest("[data-passkey-stepup]");
    if (stepup) {
      event.preventDefault();
      stepUp(stepup);
      return;
    }
    if (event.target.closest("[data-print-page]")) {
      window.print();
    }
  });

  document.addEventListener("otp_webauthn.register_complete", function () {
    var box = document.querySelector("[data-passkey-registration]");
    if (box && box.dataset.next) {
      window.location.assign(box.dataset.next);
    }
  });
})();
