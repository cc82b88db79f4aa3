// llm-modulo view: the arm page's filters (status, arm, text), inlined; no network
(function () {
  var table = document.getElementById("trials");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.status-filter"));
  var arm = document.getElementById("arm-filter");
  var text = document.getElementById("text-filter");
  var shown = document.getElementById("shown");
  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var a = arm ? arm.value : "";
    var q = text ? text.value.toLowerCase() : "";
    var n = 0;
    rows.forEach(function (r) {
      var ok = on[r.dataset.status] !== false && (!a || r.dataset.arm === a) &&
        (!q || r.dataset.text.indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = String(n);
  }
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  if (arm) arm.addEventListener("change", apply);
  if (text) text.addEventListener("input", apply);
  apply();
})();
