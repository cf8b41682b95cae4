// Session form: hide what does not apply. The form works the same without this
// file; the server ignores the clinical part of a cancelled or missed session.
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) { return; }

  function checked(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  // Cancelled and no-show sessions are a brief record.
  var attendedOnly = form.querySelectorAll("[data-attended-only]");
  function syncAttendance() {
    var attended = checked("attendance") === "attended";
    attendedOnly.forEach(function (el) { el.hidden = !attended; });
  }

  // The reason field matters only when the phase differs from the default.
  var phaseBox = form.querySelector("[data-phase]");
  var reasonBox = form.querySelector("[data-phase-reason]");
  var phase = phaseBox ? phaseBox.querySelector("select") : null;
  function syncPhase() {
    if (!phase || !reasonBox) { return; }
    var reason = reasonBox.querySelector("textarea");
    var hasError = reasonBox.querySelector(".is-invalid") !== null;
    var changed = phase.value !== phaseBox.dataset.defaultPhase;
    reasonBox.hidden = !(changed || hasError || (reason && reason.value.trim() !== ""));
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "attendance") { syncAttendance(); }
    if (event.target === phase) { syncPhase(); }
  });
  syncAttendance();
  syncPhase();
})();
