// The index of experts: sorts, filters and pages the columns of data/index.js (window.MXD_INDEX) in the browser.
// Every text from the data goes into the page as textContent, never as markup.
(function () {
  'use strict';
  var D = window.MXD_INDEX;
  var labels = D.labels || {};
  var tbody = document.querySelector('#experts tbody');
  var filter = document.getElementById('filter');
  var liveOnly = document.getElementById('live-only');
  var pageSize = document.getElementById('page-size');
  var SVG = 'http://www.w3.org/2000/svg';
  var state = { key: 'id', dir: 1, page: 0 };
  var rows = [];

  function label(i) { return labels[i] || ''; }

  function select() {
    var q = filter.value.trim().toLowerCase();
    var out = [];
    for (var i = 0; i < D.experts; i++) {
      if (liveOnly.checked && D.count[i] === 0) { continue; }
      if (q && String(i).indexOf(q) !== 0 && label(i).toLowerCase().indexOf(q) < 0) { continue; }
      out.push(i);
    }
    var key = state.key, dir = state.dir;
    if (key === 'id') {
      if (dir < 0) { out.reverse(); }
    } else if (key === 'label') {
      out.sort(function (a, b) {
        var x = label(a), y = label(b);
        return x < y ? -dir : x > y ? dir : a - b;
      });
    } else {
      var column = D[key];
      out.sort(function (a, b) { return (column[a] - column[b]) * dir || a - b; });
    }
    rows = out;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }

  function spark(levels) {
    var svg = document.createElementNS(SVG, 'svg');
    var w = 3;
    svg.setAttribute('class', 'spark');
    svg.setAttribute('width', String(levels.length * w));
    svg.setAttribute('height', '18');
    for (var b = 0; b < levels.length; b++) {
      var h = 2 * (levels.charCodeAt(b) - 48);
      if (h === 0) { continue; }
      var r = document.createElementNS(SVG, 'rect');
      r.setAttribute('x', String(b * w));
      r.setAttribute('y', String(18 - h));
      r.setAttribute('width', String(w - 1));
      r.setAttribute('height', String(h));
      svg.appendChild(r);
    }
    return svg;
  }

  function number(v) { return v === 0 ? '0' : String(Number(v.toPrecision(4))); }

  function render() {
    var size = Number(pageSize.value);
    var pages = Math.max(1, Math.ceil(rows.length / size));
    state.page = Math.min(state.page, pages - 1);
    var from = state.page * size;
    var fragment = document.createDocumentFragment();
    for (var r = from; r < Math.min(rows.length, from + size); r++) {
      var i = rows[r];
      var tr = document.createElement('tr');
      var a = document.createElement('a');
      a.href = 'experts/' + i + '.html';
      a.textContent = String(i);
      cell(tr, '', 'num').appendChild(a);
      cell(tr, number(100 * D.frequency[i]) + ' %', 'num');
      cell(tr, number(D.max[i]), 'num');
      cell(tr, number(D.mean[i]), 'num');
      cell(tr, label(i), 'label');
      cell(tr, '').appendChild(spark(D.spark[i]));
      fragment.appendChild(tr);
    }
    tbody.replaceChildren(fragment);
    document.getElementById('page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    document.getElementById('shown').textContent = rows.length + ' of ' + D.experts + ' experts';
    document.querySelectorAll('#experts th[data-key]').forEach(function (th) {
      th.classList.remove('sorted-asc', 'sorted-desc');
      if (th.dataset.key === state.key) { th.classList.add(state.dir > 0 ? 'sorted-asc' : 'sorted-desc'); }
    });
  }

  // How long the last filter, sort and render took, in ms: the timing harness reads it.
  function refresh() {
    var t0 = performance.now();
    select();
    render();
    document.documentElement.dataset.refreshMs = (performance.now() - t0).toFixed(1);
  }

  document.querySelectorAll('#experts th[data-key]').forEach(function (th) {
    th.addEventListener('click', function () {
      var key = th.dataset.key;
      // Numbers start from the largest, ids and labels from the smallest.
      state.dir = state.key === key ? -state.dir : (key === 'id' || key === 'label' ? 1 : -1);
      state.key = key;
      state.page = 0;
      refresh();
    });
  });
  filter.addEventListener('input', function () { state.page = 0; refresh(); });
  liveOnly.addEventListener('change', function () { state.page = 0; refresh(); });
  pageSize.addEventListener('change', function () { state.page = 0; render(); });
  document.getElementById('prev').addEventListener('click', function () {
    if (state.page > 0) { state.page--; render(); }
  });
  document.getElementById('next').addEventListener('click', function () { state.page++; render(); });
  refresh();
  // When the first page stood, in ms since navigation started: the tests and the timing read it.
  document.documentElement.dataset.renderedMs = String(Math.round(performance.now()));
})();
