// The live page: a text's codes (POST api/codes) and a steering edit (POST api/steer) from ./mxd serve.
// Every text from the server goes into the page as textContent, never as markup.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  if (location.protocol === 'file:') {
    $('offline').hidden = false;
    $('codes').disabled = true;
    $('steer').disabled = true;
    return;
  }
  var params = new URLSearchParams(location.search);
  if (params.has('expert')) { $('expert').value = params.get('expert'); }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || ('HTTP ' + r.status)); }
        return j;
      });
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function number(v) { return String(Number(v.toPrecision(4))); }

  function expertLink(n) {
    var a = el('a', String(n));
    a.href = 'experts/' + n + '.html';
    return a;
  }

  function showCodes(token) {
    var box = $('token-codes');
    var table = el('table', undefined, 'codes');
    table.id = 'codes-table';
    var head = el('tr');
    head.appendChild(el('th', 'expert'));
    head.appendChild(el('th', 'value', 'num'));
    table.appendChild(head);
    token.codes.forEach(function (c) {
      var tr = el('tr');
      var td = el('td');
      td.appendChild(expertLink(c.expert));
      tr.appendChild(td);
      tr.appendChild(el('td', number(c.value), 'num'));
      table.appendChild(tr);
    });
    box.replaceChildren(el('p', 'token ' + JSON.stringify(token.text) + ' (id ' + token.token + ')'), table);
  }

  $('codes-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('codes-status').textContent = 'running...';
    $('codes-status').className = '';
    post('api/codes', { text: $('text').value }).then(function (r) {
      var box = $('tokens');
      box.replaceChildren();
      r.tokens.forEach(function (t, i) {
        var span = el('span', t.text, 'token');
        span.dataset.index = String(i);
        span.title = t.codes.map(function (c) { return c.expert + ': ' + number(c.value); }).join(', ');
        span.addEventListener('click', function () {
          box.querySelectorAll('.selected').forEach(function (s) { s.classList.remove('selected'); });
          span.classList.add('selected');
          showCodes(t);
        });
        box.appendChild(span);
      });
      $('codes-status').textContent = r.tokens.length + ' tokens, layer ' + r.layer + ', ' + r.millis + ' ms';
    }).catch(function (e) {
      $('codes-status').textContent = e.message;
      $('codes-status').className = 'error';
    });
  });

  function docList(title, docs) {
    var div = el('div');
    div.appendChild(el('h3', title));
    var ol = el('ol', undefined, 'docs');
    docs.forEach(function (d) {
      var li = el('li');
      li.appendChild(el('span', 'doc ' + d.doc + ' (cosine ' + number(d.cosine) + '): '));
      li.appendChild(el('span', d.text, 'doc-text'));
      li.dataset.doc = String(d.doc);
      ol.appendChild(li);
    });
    div.appendChild(ol);
    return div;
  }

  $('steer-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('steer-status').textContent = 'running...';
    $('steer-status').className = '';
    post('api/steer', {
      text: $('text').value,
      expert: Number($('expert').value),
      value: Number($('value').value),
      mode: $('mode').value
    }).then(function (r) {
      var out = $('steer-result');
      var p = el('p');
      p.id = 'steer-cosine';
      p.textContent = 'expert ' + r.expert + ' ' + r.mode + ' ' + r.value + ': cosine of the steered to the unsteered'
        + ' embedding ' + r.cosine.toFixed(6);
      var cols = el('div', undefined, 'columns');
      cols.appendChild(docList('nearest held-out documents before', r.before));
      cols.appendChild(docList('after', r.after));
      out.replaceChildren(p, cols);
      $('steer-status').textContent = r.millis + ' ms';
    }).catch(function (e) {
      $('steer-status').textContent = e.message;
      $('steer-status').className = 'error';
    });
  });
})();
