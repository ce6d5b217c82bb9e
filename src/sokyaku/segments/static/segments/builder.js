/* The segments condition builder: renders a definition as rows of inputs named after the
 * definition's paths (prefix + "conditions.0.field" …), keeps the JSON view in sync, and fires
 * "segments:changed" so the live count (htmx) re-posts the form. Errors from the server
 * (field_errors keyed by path) are shown next to the input they name. No dependencies. */
(function () {
  "use strict";

  var LIST_OPS = ["in", "not_in"];
  var NO_VALUE_OPS = ["is_set", "is_not_set"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.indexOf("on") === 0) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function join(path, key) { return path ? path + "." + key : key; }

  function init(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    var tree = root.querySelector("[data-segbuilder-tree]");
    var cat = JSON.parse(document.getElementById(tree.dataset.catalogue).textContent);
    var model = JSON.parse(document.getElementById(tree.dataset.definition).textContent) || {};
    var errors = JSON.parse(document.getElementById(tree.dataset.errors).textContent) || {};
    var prefix = root.dataset.prefix || "";
    var jsonBox = root.querySelector("[data-segbuilder-json]");
    var T = cat.text;
    var fields = {};
    cat.fields.forEach(function (f) { fields[f.name] = f; });

    function normalise(group) {
      if (!group || typeof group !== "object") group = {};
      if (!group.op) group.op = "and";
      if (!Array.isArray(group.conditions)) group.conditions = [];
      group.conditions.forEach(function (item) {
        if (item && item.conditions) normalise(item);
        if (item && item.event !== undefined && !Array.isArray(item.where)) item.where = [];
      });
      return group;
    }
    model = normalise(model);

    function changed(rerender) {
      if (rerender) render();
      jsonBox.value = JSON.stringify(model, null, 2);
      tree.dispatchEvent(new CustomEvent("segments:changed", { bubbles: true }));
    }

    function errorsFor(path) {
      return Object.keys(errors).filter(function (key) {
        return key === path || key.indexOf(path + ".") === 0 && key.slice(path.length + 1).indexOf(".") === -1;
      }).map(function (key) { return errors[key]; });
    }

    function errorNodes(path) {
      return errorsFor(path).map(function (message) {
        return el("p", { "class": "field__error", role: "alert", text: message });
      });
    }

    function defaultCondition() {
      var spec = cat.fields[0];
      return { field: spec.name, op: spec.ops[0], value: "" };
    }

    function select(name, options, current, onchange, multiple) {
      var wanted = Array.isArray(current) ? current.map(String) : [String(current)];
      var node = el("select", { name: prefix + name, multiple: multiple, onchange: onchange });
      options.forEach(function (option) {
        if (option.group !== undefined) {
          var optgroup = el("optgroup", { label: option.group });
          option.options.forEach(function (inner) {
            optgroup.appendChild(el("option", { value: inner[0], text: inner[1], selected: wanted.indexOf(String(inner[0])) !== -1 }));
          });
          node.appendChild(optgroup);
        } else {
          node.appendChild(el("option", { value: option[0], text: option[1], selected: wanted.indexOf(String(option[0])) !== -1 }));
        }
      });
      return node;
    }

    function fieldOptions() {
      var groups = [];
      var byGroup = {};
      cat.fields.forEach(function (f) {
        if (!byGroup[f.group]) { byGroup[f.group] = { group: f.group, options: [] }; groups.push(byGroup[f.group]); }
        byGroup[f.group].options.push([f.name, f.label]);
      });
      return groups;
    }

    function valueInput(item, base, spec) {
      var name = join(base, "value");
      var op = item.op;
      if (NO_VALUE_OPS.indexOf(op) !== -1) return null;
      function update(event) {
        var target = event.target;
        if (target.multiple) item.value = Array.prototype.map.call(target.selectedOptions, function (o) { return o.value; });
        else item.value = target.value;
        changed(false);
      }
      if (op === "within_last_days") {
        return el("input", { type: "number", min: "1", name: prefix + name, value: item.value, oninput: update, "class": "segbuilder__days", "aria-label": cat.operators[op] });
      }
      if (spec.type === "boolean") {
        return select(name, [["true", T.yes], ["false", T.no]], String(item.value), update);
      }
      if (spec.type === "choice" && spec.choices.length) {
        if (LIST_OPS.indexOf(op) !== -1) {
          var wrap = el("span", {}, [
            select(name, spec.choices, item.value || [], update, true),
            el("input", { type: "hidden", name: prefix + join(base, "multi"), value: "1" })
          ]);
          return wrap;
        }
        return select(name, spec.choices, item.value, update);
      }
      var type = spec.type === "number" ? "number" : spec.type === "date" ? "date" : "text";
      var shown = Array.isArray(item.value) ? item.value.join(", ") : item.value;
      if (LIST_OPS.indexOf(op) !== -1) type = "text";
      return el("input", {
        type: type, name: prefix + name, value: shown === undefined || shown === null ? "" : shown,
        step: type === "number" ? "any" : null,
        placeholder: LIST_OPS.indexOf(op) !== -1 ? T.values_hint : null,
        oninput: update, "aria-label": spec.label
      });
    }

    function removeButton(list, index) {
      return el("button", { type: "button", "class": "btn btn--ghost btn--small segbuilder__remove", "aria-label": T.remove, text: "×",
        onclick: function () { list.splice(index, 1); changed(true); } });
    }

    function attributeRow(item, base, list, index) {
      var spec = fields[item.field];
      var row = el("div", { "class": "segbuilder__row" + (errorsFor(base).length ? " field--invalid" : "") });
      if (!spec) {
        spec = { name: item.field, label: item.field, type: "text", ops: [item.op], choices: [] };
      }
      row.appendChild(select(join(base, "field"), fieldOptions(), item.field, function (event) {
        var next = fields[event.target.value];
        item.field = next.name;
        item.op = next.ops.indexOf(item.op) !== -1 ? item.op : next.ops[0];
        item.value = LIST_OPS.indexOf(item.op) !== -1 ? [] : "";
        changed(true);
      }));
      row.appendChild(select(join(base, "op"), spec.ops.map(function (op) { return [op, cat.operators[op] || op]; }), item.op, function (event) {
        var wasList = LIST_OPS.indexOf(item.op) !== -1;
        item.op = event.target.value;
        var isList = LIST_OPS.indexOf(item.op) !== -1;
        if (wasList !== isList) item.value = isList ? (item.value ? [item.value] : []) : (Array.isArray(item.value) ? item.value[0] || "" : item.value);
        if (NO_VALUE_OPS.indexOf(item.op) !== -1) item.value = null;
        changed(true);
      }));
      var input = valueInput(item, base, spec);
      if (input) row.appendChild(input);
      row.appendChild(removeButton(list, index));
      errorNodes(base).forEach(function (n) { row.appendChild(n); });
      return row;
    }

    function behaviourRow(item, base, list, index) {
      var row = el("div", { "class": "segbuilder__row segbuilder__row--event" + (errorsFor(base).length ? " field--invalid" : "") });
      function set(key, parse) {
        return function (event) { item[key] = parse ? parse(event.target.value) : event.target.value; changed(false); };
      }
      row.appendChild(select(join(base, "negate"), [["false", T.did], ["true", T.did_not]], String(!!item.negate), function (event) {
        item.negate = event.target.value === "true"; changed(false);
      }));
      row.appendChild(select(join(base, "event"), cat.events, item.event, set("event")));
      row.appendChild(el("span", { "class": "muted", text: T.at_least }));
      row.appendChild(el("input", { type: "number", min: "1", name: prefix + join(base, "min_count"), value: item.min_count || 1, oninput: set("min_count"), "class": "segbuilder__days", "aria-label": T.at_least }));
      row.appendChild(el("span", { "class": "muted", text: T.times + " · " + T.in_last }));
      row.appendChild(el("input", { type: "number", min: "1", name: prefix + join(base, "within_days"), value: item.within_days || "", placeholder: T.ever, oninput: set("within_days"), "class": "segbuilder__days", "aria-label": T.in_last }));
      row.appendChild(el("span", { "class": "muted", text: T.days }));
      row.appendChild(removeButton(list, index));
      var filters = el("div", { "class": "segbuilder__filters" });
      item.where.forEach(function (where, j) {
        var wbase = join(base, "where." + j);
        var frow = el("div", { "class": "segbuilder__row" + (errorsFor(wbase).length ? " field--invalid" : "") });
        frow.appendChild(el("input", { type: "text", name: prefix + join(wbase, "field"), value: where.field || "", placeholder: T.property, "aria-label": T.property,
          oninput: function (event) { where.field = event.target.value; changed(false); } }));
        frow.appendChild(select(join(wbase, "op"), cat.property_ops.map(function (op) { return [op, cat.operators[op] || op]; }), where.op || "eq", function (event) {
          where.op = event.target.value; changed(true);
        }));
        if (NO_VALUE_OPS.indexOf(where.op) === -1) {
          var shown = Array.isArray(where.value) ? where.value.join(", ") : where.value;
          frow.appendChild(el("input", { type: "text", name: prefix + join(wbase, "value"), value: shown === undefined || shown === null ? "" : shown,
            placeholder: LIST_OPS.indexOf(where.op) !== -1 ? T.values_hint : null,
            oninput: function (event) { where.value = event.target.value; changed(false); } }));
        }
        frow.appendChild(removeButton(item.where, j));
        errorNodes(wbase).forEach(function (n) { frow.appendChild(n); });
        filters.appendChild(frow);
      });
      filters.appendChild(el("button", { type: "button", "class": "btn btn--ghost btn--small", text: T.add_filter,
        onclick: function () { item.where.push({ field: "", op: "eq", value: "" }); changed(true); } }));
      row.appendChild(filters);
      errorNodes(base).forEach(function (n) { row.appendChild(n); });
      return row;
    }

    function groupNode(group, path, depth, parentList, index) {
      var box = el("div", { "class": "segbuilder__group" + (depth ? " segbuilder__group--nested" : "") });
      var head = el("div", { "class": "segbuilder__head" });
      var opSelect = select(join(path, "op"), [["and", T.all], ["or", T.any]], group.op, function (event) {
        group.op = event.target.value; changed(false);
      });
      var words = T.match.split("%(op)s");
      head.appendChild(el("span", { text: words[0] }));
      head.appendChild(opSelect);
      head.appendChild(el("span", { text: words[1] || "" }));
      if (parentList) head.appendChild(removeButton(parentList, index));
      box.appendChild(head);
      errorNodes(path ? join(path, "conditions") : "conditions").forEach(function (n) { box.appendChild(n); });
      group.conditions.forEach(function (item, i) {
        var base = join(path, "conditions." + i);
        if (item && item.conditions) box.appendChild(groupNode(item, base, depth + 1, group.conditions, i));
        else if (item && item.event !== undefined) box.appendChild(behaviourRow(item, base, group.conditions, i));
        else box.appendChild(attributeRow(item, base, group.conditions, i));
      });
      var actions = el("div", { "class": "segbuilder__actions" }, [
        el("button", { type: "button", "class": "btn btn--ghost btn--small", "data-add": "condition", text: T.add_condition,
          onclick: function () { group.conditions.push(defaultCondition()); changed(true); } }),
        el("button", { type: "button", "class": "btn btn--ghost btn--small", "data-add": "event", text: T.add_event,
          onclick: function () { group.conditions.push({ event: cat.events[0][0], where: [], min_count: 1, within_days: 30, negate: false }); changed(true); } }),
        depth < 4 ? el("button", { type: "button", "class": "btn btn--ghost btn--small", "data-add": "group", text: T.add_group,
          onclick: function () { group.conditions.push({ op: group.op === "and" ? "or" : "and", conditions: [defaultCondition()] }); changed(true); } }) : null
      ]);
      box.appendChild(actions);
      return box;
    }

    function render() {
      tree.innerHTML = "";
      tree.appendChild(groupNode(model, "", 0, null, 0));
    }

    root.querySelector("[data-segbuilder-apply]").addEventListener("click", function () {
      try {
        model = normalise(JSON.parse(jsonBox.value));
      } catch (exc) {
        window.alert(exc.message);
        return;
      }
      errors = {};
      changed(true);
    });

    root.addEventListener("htmx:afterSwap", function () {
      var marker = root.querySelector("[data-segbuilder-errors]");
      if (!marker) return;
      errors = JSON.parse(marker.getAttribute("data-segbuilder-errors") || "{}");
      var focused = document.activeElement && document.activeElement.name;
      render();
      if (focused) {
        var again = tree.querySelector('[name="' + focused.replace(/"/g, '\\"') + '"]');
        if (again) { again.focus(); if (again.setSelectionRange && again.type === "text") { var end = again.value.length; again.setSelectionRange(end, end); } }
      }
    });

    render();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-segbuilder]"), init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
