(function () {
  "use strict";
  // The waterfall and the side-by-side histories are virtual lists: only the rows in
  // view (and a few around them) are in the page, so a 10,000-step run opens at once.
  // Every recorded value is shown with textContent, never parsed as markup.
  var ROW = 28;
  var OVERSCAN = 10;
  var MAX_HEIGHT = 480;
  var source = document.getElementById("replay-data");
  var data = source ? JSON.parse(source.textContent) : {};
  var lists = {};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function ms(value) {
    var v = Number(value) || 0;
    if (v >= 1000) return (v / 1000).toFixed(2) + " s";
    if (v >= 10) return v.toFixed(0) + " ms";
    return v >= 1 ? v.toFixed(1) + " ms" : v.toFixed(2) + " ms";
  }

  function shown(value) {
    if (typeof value === "string") return value;
    if (value === undefined) return "";
    return JSON.stringify(value, null, 2);
  }

  function block(parent, title, value, className) {
    parent.appendChild(el("h4", null, title));
    parent.appendChild(el("pre", className || "value", shown(value)));
  }

  function collapsed(parent, title, build) {
    var details = el("details");
    details.appendChild(el("summary", null, title));
    build(details);
    parent.appendChild(details);
  }

  function stepTitle(row) {
    return "#" + row[1] + " " + row[2] + " " + row[3];
  }

  function stepDetail(sourceName, position) {
    var steps = data[sourceName];
    var box = el("div", "step-detail");
    if (!steps || position === null || position === undefined) {
      box.appendChild(el("p", "dim", "no step on this side"));
      return box;
    }
    var row = steps.rows[position];
    var detail = steps.details[position] || {};
    box.appendChild(el("h4", null, stepTitle(row)));
    box.appendChild(
      el("p", "dim", "started at " + ms(row[4]) + ", latency " + ms(row[5]))
    );
    block(box, "args", detail.args);
    if (detail.error) {
      block(box, "error", detail.error["class"] + (detail.error.message ? ": " + detail.error.message : ""), "value err");
    } else {
      block(box, "result", detail.result);
    }
    if (detail.http) {
      collapsed(box, "HTTP exchange", function (node) {
        node.appendChild(el("pre", "value", shown(detail.http)));
      });
    }
    if (detail.sse && detail.sse.length) {
      collapsed(box, "SSE events (" + detail.sse.length + ")", function (node) {
        var list = el("ol");
        detail.sse.forEach(function (event) {
          var item = el("li");
          item.appendChild(el("pre", "value", event));
          list.appendChild(item);
        });
        node.appendChild(list);
      });
    }
    return box;
  }

  function VirtualList(container, count, drawRow, open) {
    this.container = container;
    this.count = count;
    this.drawRow = drawRow;
    this.open = open;
    this.nodes = {};
    this.active = -1;
    this.pending = false;
    this.spacer = el("div", "vspacer");
    this.spacer.style.height = count * ROW + "px";
    container.appendChild(this.spacer);
    container.style.height = Math.min(MAX_HEIGHT, count * ROW + 2) + "px";
    var self = this;
    container.addEventListener("scroll", function () { self.schedule(); });
    window.addEventListener("resize", function () { self.schedule(); });
    container.addEventListener("keydown", function (event) { self.key(event); });
    container.addEventListener("focus", function () {
      if (self.active < 0 && self.count) self.select(self.firstVisible(), false);
    });
    container.addEventListener("click", function (event) {
      var row = event.target.closest ? event.target.closest(".vrow") : null;
      if (!row) return;
      self.select(Number(row.getAttribute("data-pos")), true);
    });
    this.draw();
  }

  VirtualList.prototype.schedule = function () {
    var self = this;
    if (this.pending) return;
    this.pending = true;
    window.requestAnimationFrame(function () {
      self.pending = false;
      self.draw();
    });
  };

  VirtualList.prototype.firstVisible = function () {
    return Math.min(this.count - 1, Math.floor(this.container.scrollTop / ROW));
  };

  VirtualList.prototype.draw = function () {
    var top = this.container.scrollTop;
    var height = this.container.clientHeight || MAX_HEIGHT;
    var first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    var last = Math.min(this.count - 1, Math.ceil((top + height) / ROW) + OVERSCAN);
    var keep = {};
    for (var i = first; i <= last; i++) {
      keep[i] = true;
      if (!this.nodes[i]) {
        var row = this.drawRow(i);
        row.className += " vrow";
        row.id = this.container.getAttribute("data-id") + "-row-" + i;
        row.setAttribute("role", "option");
        row.setAttribute("data-pos", String(i));
        row.setAttribute("aria-selected", i === this.active ? "true" : "false");
        if (i === this.active) row.className += " active";
        row.style.top = i * ROW + "px";
        this.spacer.appendChild(row);
        this.nodes[i] = row;
      }
    }
    for (var key in this.nodes) {
      if (!keep[key]) {
        this.spacer.removeChild(this.nodes[key]);
        delete this.nodes[key];
      }
    }
  };

  VirtualList.prototype.select = function (position, openIt) {
    if (position < 0 || position >= this.count) return;
    var previous = this.nodes[this.active];
    if (previous) {
      previous.classList.remove("active");
      previous.setAttribute("aria-selected", "false");
    }
    this.active = position;
    var top = position * ROW;
    var view = this.container;
    if (top < view.scrollTop) view.scrollTop = top;
    else if (top + ROW > view.scrollTop + view.clientHeight) view.scrollTop = top + ROW - view.clientHeight;
    this.draw();
    var node = this.nodes[position];
    if (node) {
      node.classList.add("active");
      node.setAttribute("aria-selected", "true");
      view.setAttribute("aria-activedescendant", node.id);
    }
    if (openIt) this.open(position);
  };

  VirtualList.prototype.go = function (position) {
    this.container.focus({ preventScroll: true });
    var top = Math.max(0, position * ROW - this.container.clientHeight / 2);
    this.container.scrollTop = top;
    this.select(position, true);
    this.container.scrollIntoView({ block: "nearest" });
  };

  VirtualList.prototype.key = function (event) {
    var page = Math.max(1, Math.floor(this.container.clientHeight / ROW) - 1);
    var at = this.active < 0 ? 0 : this.active;
    var moves = { ArrowDown: at + 1, ArrowUp: at - 1, PageDown: at + page, PageUp: at - page, Home: 0, End: this.count - 1 };
    if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
      event.preventDefault();
      this.select(Math.max(0, Math.min(this.count - 1, moves[event.key])), false);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (this.active >= 0) this.open(this.active);
    }
  };

  function showDetail(name, content) {
    var panel = document.querySelector('[data-detail="' + name + '"]');
    if (!panel) return;
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    panel.appendChild(content);
  }

  function waterfall(container) {
    var name = container.getAttribute("data-waterfall");
    var steps = data[name];
    if (!steps) return;
    container.setAttribute("data-id", "wf-" + name);
    var rows = steps.rows;
    var start = Infinity;
    var end = 0;
    for (var i = 0; i < rows.length; i++) {
      start = Math.min(start, rows[i][4]);
      end = Math.max(end, rows[i][4] + rows[i][5]);
    }
    if (!rows.length) start = 0;
    var span = Math.max(end - start, 0.001);
    var firstError = container.getAttribute("data-first-error");
    var slowest = container.getAttribute("data-slowest");
    function drawRow(position) {
      var row = rows[position];
      var node = el("div", "step-row");
      node.appendChild(el("span", "idx", "#" + row[1]));
      node.appendChild(el("span", "kind kind-" + row[2], row[2]));
      var label = el("span", "name");
      var text = el("span", "text", row[3]);
      text.title = row[3] + (row[6] ? " (" + row[6] + (row[7] ? ": " + row[7] : "") + ")" : "");
      label.appendChild(text);
      node.appendChild(label);
      var track = el("span", "track");
      var bar = el("span", "bar kind-bg-" + row[2] + (row[6] ? " error" : ""));
      bar.style.left = ((row[4] - start) / span) * 100 + "%";
      bar.style.width = Math.max((row[5] / span) * 100, 0.2) + "%";
      track.appendChild(bar);
      node.appendChild(track);
      var latency = el("span", "lat", ms(row[5]));
      node.appendChild(latency);
      if (String(position) === firstError) {
        node.className += " is-first-error";
        label.appendChild(el("span", "badge badge-first-error", "first error"));
      }
      if (String(position) === slowest) {
        node.className += " is-slowest";
        label.appendChild(el("span", "badge badge-slowest", "slowest"));
      }
      if (row[6]) node.className += " failed";
      return node;
    }
    lists[name] = new VirtualList(container, rows.length, drawRow, function (position) {
      showDetail(name, stepDetail(name, position));
    });
  }

  function alignment(container) {
    var name = container.getAttribute("data-alignment");
    var aligned = data[name];
    if (!aligned) return;
    container.setAttribute("data-id", name);
    var first = container.getAttribute("data-first");
    var marks = { equal: "=", changed: "~", added: "+", removed: "-" };
    function side(sourceName, position) {
      if (position === null || position === undefined) return el("span", "side dim", "");
      var row = data[sourceName].rows[position];
      var node = el("span", "side");
      node.appendChild(el("span", "idx", "#" + row[1] + " "));
      node.appendChild(el("span", "kind kind-" + row[2], row[2]));
      node.appendChild(document.createTextNode(" " + row[3]));
      if (row[6]) node.appendChild(el("span", "err", " " + row[6]));
      return node;
    }
    function drawRow(position) {
      var row = aligned.rows[position];
      var node = el("div", "row-" + row[2]);
      node.appendChild(side("original", row[0]));
      var status = el("span", "status", marks[row[2]] || "?");
      status.title = row[2];
      node.appendChild(status);
      node.appendChild(side("replay", row[1]));
      if (String(position) === first) {
        node.className += " is-first-divergence";
        node.appendChild(el("span", "badge badge-divergence", "first divergence"));
      }
      return node;
    }
    lists[name] = new VirtualList(container, aligned.rows.length, drawRow, function (position) {
      var row = aligned.rows[position];
      var box = el("div");
      var change = row[3] === null || row[3] === undefined ? null : aligned.changes[row[3]];
      box.appendChild(el("p", null, row[2] + (change ? ": " + change.cause : "")));
      if (change && change.differences && change.differences.length) {
        box.appendChild(el("pre", "diff", change.differences.join("\n")));
      }
      var pair = el("div", "detail-pair");
      var left = el("div");
      left.appendChild(el("h4", null, "original"));
      left.appendChild(stepDetail("original", row[0]));
      var right = el("div");
      right.appendChild(el("h4", null, "replay"));
      right.appendChild(stepDetail("replay", row[1]));
      pair.appendChild(left);
      pair.appendChild(right);
      box.appendChild(pair);
      showDetail(name, box);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-waterfall]"), waterfall);
  Array.prototype.forEach.call(document.querySelectorAll("[data-alignment]"), alignment);
  Array.prototype.forEach.call(document.querySelectorAll("button.jump"), function (button) {
    button.addEventListener("click", function () {
      var list = lists[button.getAttribute("data-list")];
      if (list) list.go(Number(button.getAttribute("data-go")));
    });
  });
  document.documentElement.setAttribute("data-ready", "true");
})();
