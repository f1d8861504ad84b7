/* New order (portal and public order form): "Add article" / "Remove article" in the browser. */
(function () {
  var list = document.getElementById("articles");
  var template = document.getElementById("article-template");
  if (!list || !template) { return; }
  var addButton = document.getElementById("add-article");

  function nextIndex() {
    var max = -1;
    list.querySelectorAll("fieldset.article").forEach(function (fs) {
      var m = /^items-(\d+)$/.exec(fs.getAttribute("data-prefix"));
      if (m) { max = Math.max(max, parseInt(m[1], 10)); }
    });
    return max + 1;
  }

  function renumber() {
    var rows = list.querySelectorAll("fieldset.article");
    rows.forEach(function (fs, i) {
      fs.querySelector(".article-number").textContent = String(i + 1);
      fs.querySelector(".remove-article").disabled = rows.length === 1;
    });
  }

  addButton.addEventListener("click", function (event) {
    event.preventDefault();
    var index = nextIndex();
    var html = template.innerHTML.replace(/__INDEX__/g, String(index)).replace(/__NUMBER__/g, "");
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fieldset = holder.firstElementChild;
    list.appendChild(fieldset);
    renumber();
    var first = fieldset.querySelector("input[name$='-article_number']");
    if (first) { first.focus(); }
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-article");
    if (!button) { return; }
    event.preventDefault();
    if (list.querySelectorAll("fieldset.article").length > 1) {
      button.closest("fieldset.article").remove();
      renumber();
    }
  });

  renumber();
})();

/* New order in the portal: the serial number offers the company's device register as you type (a <datalist>
   bound to every serial number field, rows added in the page included); picking a device fills article
   number and description of that article. */
(function () {
  var list = document.getElementById("articles");
  var datalist = document.getElementById("device-matches");
  if (!list || !datalist || !list.getAttribute("data-device-search")) { return; }
  var url = list.getAttribute("data-device-search");
  var known = {};  // serial number -> device, from the answers so far
  var timer = null;
  var lastQuery = "";

  function isSerial(el) { return el && el.name && /-serial_number$/.test(el.name); }

  function fill(input) {
    var device = known[input.value.trim()];
    if (!device) { return; }
    var row = input.closest("fieldset.article");
    var prefix = row.getAttribute("data-prefix");
    var article = row.querySelector("[name='" + prefix + "-article_number']");
    var description = row.querySelector("[name='" + prefix + "-description']");
    if (article) { article.value = device.article_number || ""; }
    if (description) { description.value = device.description || ""; }
  }

  function show(devices) {
    datalist.innerHTML = "";
    devices.forEach(function (d) {
      known[d.serial_number] = d;
      var option = document.createElement("option");
      option.value = d.serial_number;
      option.label = [d.article_number, d.description].filter(Boolean).join(" · ");
      datalist.appendChild(option);
    });
  }

  function lookUp(input) {
    var q = input.value.trim();
    if (q.length < 2) { datalist.innerHTML = ""; return; }
    if (q === lastQuery) { return; }
    lastQuery = q;
    fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (devices) { if (q === lastQuery) { show(devices); } })
      .catch(function () { /* the field keeps working as a plain text field */ });
  }

  list.addEventListener("input", function (event) {
    var input = event.target;
    if (!isSerial(input)) { return; }
    if (known[input.value.trim()]) { fill(input); return; }  // a device picked from the list
    clearTimeout(timer);
    timer = setTimeout(function () { lookUp(input); }, 200);
  });
  list.addEventListener("change", function (event) {
    if (isSerial(event.target)) { fill(event.target); }
  });
})();
