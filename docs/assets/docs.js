// Interactive docs for the Task Manager API: lists the operations of /openapi.json and lets
// the user send each one with a Bearer token. No dependencies; works offline.
(function () {
  'use strict';
  var spec = null;
  var tokenInput = document.getElementById('token');
  var remember = document.getElementById('remember');
  var SHOWN_HEADERS = ['location', 'link', 'retry-after', 'www-authenticate', 'content-type'];

  if (sessionStorage.getItem('appliance-token')) {
    tokenInput.value = sessionStorage.getItem('appliance-token');
    remember.checked = true;
  }
  function saveToken() {
    if (remember.checked) sessionStorage.setItem('appliance-token', tokenInput.value);
    else sessionStorage.removeItem('appliance-token');
  }
  tokenInput.addEventListener('change', saveToken);
  remember.addEventListener('change', saveToken);
  document.getElementById('auth').addEventListener('submit', function (e) { e.preventDefault(); });

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function resolve(obj) {
    while (obj && obj.$ref) {
      obj = obj.$ref.replace(/^#\//, '').split('/').reduce(function (o, k) { return o[k]; }, spec);
    }
    return obj;
  }
  // Examples carry a fixed request_timestamp; writes need a fresh one to be accepted.
  function freshExample(example) {
    var copy = JSON.parse(JSON.stringify(example || {}));
    if ('request_timestamp' in copy) copy.request_timestamp = new Date().toISOString();
    return JSON.stringify(copy, null, 2);
  }

  function send(method, url, body, out) {
    var headers = {};
    if (tokenInput.value) headers.Authorization = 'Bearer ' + tokenInput.value.trim();
    if (body) headers['Content-Type'] = 'application/json';
    out.textContent = 'Sending…';
    fetch(url, { method: method.toUpperCase(), headers: headers, body: body || undefined })
      .then(function (res) {
        return res.text().then(function (text) { showResponse(method, url, res, text, out); });
      })
      .catch(function (err) { out.textContent = 'Request failed: ' + err; });
  }

  function showResponse(method, url, res, text, out) {
    out.textContent = '';
    var cls = res.status < 400 ? 'status-ok' : 'status-err';
    out.appendChild(el('div', {}, [el('strong', { class: cls, text: res.status + ' ' + res.statusText }),
      el('span', { text: '  ' + method.toUpperCase() + ' ' + url })]));
    var table = el('table');
    SHOWN_HEADERS.forEach(function (h) {
      var v = res.headers.get(h);
      if (v) table.appendChild(el('tr', {}, [el('td', { text: h }), el('td', { text: v })]));
    });
    out.appendChild(table);
    var pretty = text;
    try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
    out.appendChild(el('pre', { text: pretty || '(empty body)' }));
    var link = res.headers.get('link');
    var next = link && /<([^>]+)>;\s*rel="next"/.exec(link);
    if (next) {
      var button = el('button', { type: 'button', text: 'Next page' });
      button.addEventListener('click', function () { send('get', next[1], null, out); });
      out.appendChild(button);
    }
  }

  function renderOperation(path, method, op, shared) {
    var params = (shared || []).concat(op.parameters || []).map(resolve);
    var inputs = {};
    var section = el('div', { class: 'section' });
    if (op.description) section.appendChild(el('p', { text: op.description }));
    params.forEach(function (p) {
      var input = el('input', { type: 'text', placeholder: (p.schema && (p.schema.format || p.schema.type)) || '' });
      if (p.schema && p.schema.default !== undefined) input.value = String(p.schema.default);
      inputs[p.name] = { param: p, input: input };
      section.appendChild(el('label', { class: 'param' }, [
        el('span', { text: p.name + (p.required ? ' *' : '') + ' (' + p.in + ')' }), input,
        el('small', { text: ' ' + (p.description || '') })]));
    });
    var bodyArea = null;
    var media = op.requestBody && resolve(op.requestBody).content['application/json'];
    if (media) {
      bodyArea = el('textarea', { spellcheck: 'false' });
      bodyArea.value = freshExample(media.example);
      section.appendChild(el('div', {}, [el('div', { text: 'Request body (application/json)' }), bodyArea]));
    }
    var out = el('div');
    var sendButton = el('button', { type: 'button', text: 'Send' });
    sendButton.addEventListener('click', function () {
      var url = path, query = [];
      Object.keys(inputs).forEach(function (name) {
        var p = inputs[name].param, v = inputs[name].input.value;
        if (p.in === 'path') url = url.replace('{' + name + '}', encodeURIComponent(v));
        else if (p.in === 'query' && v !== '') query.push(encodeURIComponent(name) + '=' + encodeURIComponent(v));
      });
      if (query.length) url += '?' + query.join('&');
      send(method, url, bodyArea && bodyArea.value.trim() ? bodyArea.value : null, out);
    });
    section.appendChild(sendButton);
    if (bodyArea) {
      var fresh = el('button', { type: 'button', text: 'New request_timestamp' });
      fresh.addEventListener('click', function () {
        try { bodyArea.value = freshExample(JSON.parse(bodyArea.value)); } catch (e) { /* keep */ }
      });
      section.appendChild(fresh);
    }
    var codes = el('table');
    Object.keys(op.responses || {}).forEach(function (code) {
      codes.appendChild(el('tr', {}, [el('td', { text: code }), el('td', { text: resolve(op.responses[code]).description })]));
    });
    section.appendChild(el('div', {}, [el('strong', { text: 'Responses' }), codes]));
    section.appendChild(out);
    return el('details', {}, [el('summary', {}, [el('span', { class: 'method ' + method, text: method }),
      el('span', { text: path }), el('span', { class: 'summary', text: op.summary || '' })]), section]);
  }

  function render() {
    document.getElementById('title').textContent = spec.info.title + ' ' + spec.info.version;
    document.getElementById('description').textContent = spec.info.description || '';
    var main = document.getElementById('operations');
    main.textContent = '';
    Object.keys(spec.paths).forEach(function (path) {
      var item = spec.paths[path];
      ['get', 'post', 'put', 'delete'].forEach(function (method) {
        if (item[method]) main.appendChild(renderOperation(path, method, item[method], item.parameters));
      });
    });
  }

  fetch('/openapi.json')
    .then(function (res) { return res.json(); })
    .then(function (doc) { spec = doc; render(); })
    .catch(function (err) {
      document.getElementById('operations').textContent = 'Cannot load /openapi.json: ' + err;
    });
})();
