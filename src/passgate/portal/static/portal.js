// passgate self-service page: live hints only. The form works without this file.
// Reads no cookie, no token, nothing from the server but the page itself.
(function () {
  "use strict";
  var form = document.querySelector("form.change");
  if (!form) { return; }
  var current = document.getElementById("current");
  var fresh = document.getElementById("new");
  var confirm = document.getElementById("confirm");
  var list = document.getElementById("rules");
  var met = list ? list.getAttribute("data-met") : "";
  var notMet = list ? list.getAttribute("data-not-met") : "";

  var classes = {
    lowercase: /\p{Ll}/gu,
    uppercase: /\p{Lu}/gu,
    digits: /\p{Nd}/gu,
    symbols: /[^\p{L}\p{Nd}\s]/gu
  };

  function count(text, pattern) { return (text.match(pattern) || []).length; }

  function holds(check, limit, value) {
    var length = Array.from(value).length;
    if (check === "min_length") { return length >= limit; }
    if (check === "max_length") { return length <= limit; }
    if (check === "differs") { return value !== "" && value !== current.value; }
    if (check === "confirm") { return confirm.value !== "" && confirm.value === value; }
    if (classes[check]) { return count(value, classes[check]) >= limit; }
    return null;
  }

  function mark(item, ok) {
    item.classList.toggle("met", ok);
    item.classList.toggle("unmet", !ok);
    var state = item.querySelector(".state");
    if (state) { state.textContent = " (" + (ok ? met : notMet) + ")"; }
  }

  function update() {
    var value = fresh.value;
    var items = document.querySelectorAll("[data-check]");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var check = item.getAttribute("data-check");
      if (check === "confirm") {
        item.hidden = confirm.value === "";
      } else if (value === "") {
        item.classList.remove("met", "unmet");
        var state = item.querySelector(".state");
        if (state) { state.textContent = ""; }
        continue;
      }
      var ok = holds(check, parseInt(item.getAttribute("data-limit") || "0", 10), value);
      if (ok !== null) { mark(item, ok); }
    }
  }

  // Show/hide toggles: a button beside each password field.
  var fields = form.querySelectorAll("input[type=password]");
  for (var i = 0; i < fields.length; i++) {
    (function (input) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "toggle";
      button.textContent = input.getAttribute("data-show");
      button.setAttribute("aria-label", input.getAttribute("data-show-label"));
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-controls", input.id);
      button.addEventListener("click", function () {
        var shown = input.type === "password";
        input.type = shown ? "text" : "password";
        button.textContent = input.getAttribute(shown ? "data-hide" : "data-show");
        button.setAttribute("aria-pressed", shown ? "true" : "false");
        input.focus();
      });
      input.parentNode.appendChild(button);
    })(fields[i]);
  }
  // Before the form goes, every field is a password field again (nothing shown stays shown).
  form.addEventListener("submit", function () {
    for (var j = 0; j < fields.length; j++) { fields[j].type = "password"; }
  });

  [current, fresh, confirm].forEach(function (input) {
    input.addEventListener("input", update);
  });
  var invalid = form.querySelector("[aria-invalid=true]");
  if (invalid) { invalid.focus(); }
  update();
})();
