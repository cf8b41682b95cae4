/*
 * Idle warning and automatic sign-out (HIPAA 164.312(a)(2)(iii), ASVS 7.3.1).
 *
 * The server ends a session after a spell without activity. <body> says how
 * many seconds this session has left (data-idle-timeout) and how early to warn
 * (data-idle-warning). This script shows a warning (role="alert") that long
 * before the end, with a "Stay signed in" button that pings the server
 * (data-ping-url), and at the end leaves the page for data-timeout-url, which
 * shows the sign-in page and says why: no patient data stays on an unattended
 * screen.
 *
 * Typing or clicking on the page counts as activity and pings the server (at
 * most once a minute), so a long note is never lost to the idle limit. Tabs
 * share the session's expiry through localStorage, so one idle tab does not
 * sign out a person working in another. No inline script (CSP).
 */
(function () {
  "use strict";

  var body = document.body;
  var secondsLeft = parseInt(body.dataset.idleTimeout, 10);
  var warningSeconds = parseInt(body.dataset.idleWarning, 10);
  var pingUrl = body.dataset.pingUrl;
  var timeoutUrl = body.dataset.timeoutUrl;
  if (isNaN(secondsLeft) || !pingUrl || !timeoutUrl) {
    return; // not signed in
  }
  if (isNaN(warningSeconds)) {
    warningSeconds = 120;
  }

  var STORAGE_KEY = "ipt-session-expires-at";
  var PING_INTERVAL_MS = 60 * 1000; // activity pings at most this often
  var GRACE_MS = 2000; // leave only once the server has surely expired the session
  var expiresAt = 0;
  var lastPing = Date.now(); // serving this page was the last contact
  var warningTimer = null;
  var expiryTimer = null;
  var warningBox = null;

  function sharedExpiry() {
    var shared = 0;
    try {
      shared = parseInt(window.localStorage.getItem(STORAGE_KEY), 10) || 0;
    } catch (e) {
      shared = 0; // storage disabled: each tab on its own
    }
    return Math.max(expiresAt, shared);
  }

  function setExpiry(seconds) {
    expiresAt = Date.now() + seconds * 1000;
    try {
      if (expiresAt > sharedExpiry()) {
        window.localStorage.setItem(STORAGE_KEY, String(expiresAt));
      }
    } catch (e) {
      /* storage disabled */
    }
    schedule();
  }

  function csrfToken() {
    // The sign-out form in the header of every signed-in page carries the token.
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function leave() {
    var here = window.location.pathname + window.location.search;
    window.location.assign(timeoutUrl + "?next=" + encodeURIComponent(here));
  }

  function ping() {
    lastPing = Date.now();
    return window
      .fetch(pingUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/json") === 0) {
          return response.json().then(function (data) {
            setExpiry(data.idle_seconds);
          });
        }
        leave(); // the session is gone already: the server answered with the sign-in page
        return null;
      })
      .catch(function () {
        /* offline for a moment: the timers still run, the server decides */
      });
  }

  function hideWarning() {
    if (warningBox) {
      warningBox.remove();
      warningBox = null;
    }
  }

  function minutesText(seconds) {
    var minutes = Math.max(1, Math.round(seconds / 60));
    return minutes === 1 ? "1 minute" : minutes + " minutes";
  }

  function showWarning() {
    if (warningBox) {
      return;
    }
    warningBox = document.createElement("div");
    warningBox.className = "alert alert-warning shadow position-fixed bottom-0 end-0 m-3 z-3";
    warningBox.setAttribute("role", "alert");
    warningBox.setAttribute("data-testid", "idle-warning");
    var text = document.createElement("p");
    text.className = "mb-2";
    text.textContent =
      "You will be signed out in about " +
      minutesText((sharedExpiry() - Date.now()) / 1000) +
      " because nothing has happened on this page.";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary btn-sm";
    button.textContent = "Stay signed in";
    button.addEventListener("click", function () {
      hideWarning();
      ping();
    });
    warningBox.appendChild(text);
    warningBox.appendChild(button);
    body.appendChild(warningBox);
  }

  function schedule() {
    window.clearTimeout(warningTimer);
    window.clearTimeout(expiryTimer);
    hideWarning();
    var end = sharedExpiry();
    var now = Date.now();
    warningTimer = window.setTimeout(check, Math.max(0, end - warningSeconds * 1000 - now));
    expiryTimer = window.setTimeout(check, Math.max(0, end + GRACE_MS - now));
  }

  function check() {
    var end = sharedExpiry();
    var now = Date.now();
    if (now >= end + GRACE_MS) {
      leave();
    } else if (now >= end - warningSeconds * 1000) {
      showWarning();
    } else {
      schedule(); // another tab moved the expiry meanwhile
    }
  }

  function onActivity(event) {
    if (warningBox && warningBox.contains(event.target)) {
      return; // the warning's own button pings
    }
    if (Date.now() - lastPing >= PING_INTERVAL_MS) {
      ping();
    }
  }

  ["keydown", "pointerdown", "input"].forEach(function (name) {
    document.addEventListener(name, onActivity, { passive: true, capture: true });
  });
  setExpiry(secondsLeft);
})();
