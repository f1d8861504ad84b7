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
