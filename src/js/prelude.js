// The shell's JavaScript world: arangosh's globals and modules, written on top of the few native
// functions of `SYS` (HTTP, output, time, files, logging), which src/js/host.rs provides.
(function (global, SYS) {
  'use strict';

  // ---------------------------------------------------------------------------------------------
  // errors
  const ERRORS = SYS.errors(); // { NAME: { code, message } }

  class ArangoError extends Error {
    constructor(error) {
      super();
      if (error !== undefined && error !== null && typeof error === 'object') {
        this.error = error.error === undefined ? true : error.error;
        this.code = error.code;
        this.errorNum = error.errorNum === undefined ? ERRORS.ERROR_FAILED.code : error.errorNum;
        this.errorMessage = error.errorMessage === undefined ? '' : String(error.errorMessage);
      } else {
        this.error = true;
        this.errorNum = ERRORS.ERROR_FAILED.code;
        this.errorMessage = '';
      }
    }
    get message() { return this.errorMessage; }
    set message(v) { /* arangosh ignores assignments */ }
    toString() { return 'ArangoError ' + this.errorNum + ': ' + this.errorMessage; }
    _PRINT(context) { context.output += '[' + this.toString() + ']'; }
  }
  Object.defineProperty(ArangoError.prototype, 'name', { value: 'ArangoError', writable: true, configurable: true });
  Object.defineProperty(ArangoError.prototype, 'isArangoError', { value: true, writable: true, configurable: true });

  function arangoError(num, message, code) {
    return new ArangoError({ error: true, code: code, errorNum: num, errorMessage: message });
  }
  // native functions throw plain `{errorNum, errorMessage[, code]}` objects: as ArangoErrors
  function fromNative(e, code) {
    if (e !== null && typeof e === 'object' && e.errorNum !== undefined && !(e instanceof Error)) {
      return new ArangoError({ error: true, code: e.code === undefined ? code : e.code, errorNum: e.errorNum, errorMessage: e.errorMessage });
    }
    return e;
  }
  function messageOf(name) { return ERRORS[name] ? ERRORS[name].message : name; }
  function throwBadParameter(msg) {
    throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, messageOf('ERROR_BAD_PARAMETER') + (msg ? ': ' + msg : ''), 400);
  }

  // `checkRequestResult` of arangosh: server errors become exceptions, `error: false` is dropped.
  function checkRequestResult(r) {
    if (r === undefined) {
      throw arangoError(ERRORS.ERROR_INTERNAL.code, 'Unknown error. Request result is empty', 500);
    }
    if (r !== null && typeof r === 'object' && r.error === true) {
      if (r.errorNum === ERRORS.ERROR_TYPE_ERROR.code) {
        throw new TypeError(r.errorMessage);
      }
      if (r.parsedBody && typeof r.parsedBody === 'object' && r.parsedBody.error === true) {
        throw new ArangoError(r.parsedBody);
      }
      throw new ArangoError(r);
    }
    if (r !== null && typeof r === 'object') {
      delete r.error;
    }
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // printing (arangosh's printRecursive)
  const state = {
    pretty: SYS.option('console.pretty-print') !== false,
    colors: SYS.colorsOut(),
    capture: null,
  };
  function colorCodes(on) {
    const c = {
      COLOR_RED: '\x1b[31m', COLOR_BOLD_RED: '\x1b[1;31m', COLOR_GREEN: '\x1b[32m',
      COLOR_BOLD_GREEN: '\x1b[1;32m', COLOR_BLUE: '\x1b[34m', COLOR_BOLD_BLUE: '\x1b[1;34m',
      COLOR_YELLOW: '\x1b[33m', COLOR_BOLD_YELLOW: '\x1b[1;33m', COLOR_WHITE: '\x1b[37m',
      COLOR_BOLD_WHITE: '\x1b[1;37m', COLOR_CYAN: '\x1b[36m', COLOR_BOLD_CYAN: '\x1b[1;36m',
      COLOR_MAGENTA: '\x1b[35m', COLOR_BOLD_MAGENTA: '\x1b[1;35m', COLOR_BLACK: '\x1b[30m',
      COLOR_BOLD_BLACK: '\x1b[1;30m', COLOR_BLINK: '\x1b[5m', COLOR_BRIGHT: '\x1b[1m',
      COLOR_RESET: '\x1b[0m',
    };
    if (!on) { for (const k of Object.keys(c)) { c[k] = ''; } }
    return c;
  }
  const COLORS = colorCodes(SYS.stdoutIsTty());

  function output(s) {
    if (state.capture !== null) { state.capture += s; } else { SYS.output(s); }
  }

  function quoteJson(s) {
    let r = '"';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      const c = s.charCodeAt(i);
      if (ch === '"') r += '\\"';
      else if (ch === '\\') r += '\\\\';
      else if (c === 8) r += '\\b';
      else if (c === 9) r += '\\t';
      else if (c === 10) r += '\\n';
      else if (c === 12) r += '\\f';
      else if (c === 13) r += '\\r';
      else if (c < 0x20) r += '\\u' + ('0000' + c.toString(16)).slice(-4);
      else r += ch;
    }
    return r + '"';
  }

  function functionSummary(f) {
    const src = Function.prototype.toString.call(f);
    if (/\[native code\]/.test(src)) { return 'function { [native code] }'; }
    const m = /^\s*(?:async\s+)?function\s*\*?\s*([^(\s]*)\s*\(([^)]*)\)/.exec(src);
    if (m) { return 'function ' + (m[1] ? m[1] + ' ' : '') + '(' + m[2].trim() + ') { ... }'; }
    return 'function (...) { ... }';
  }

  function printRecursive(value, ctx, path, depth) {
    const col = ctx.colors ? COLORS : colorCodes(false);
    if (value === undefined) { ctx.output += col.COLOR_BOLD_YELLOW + 'undefined' + col.COLOR_RESET; return; }
    if (value === null) { ctx.output += col.COLOR_BOLD_YELLOW + 'null' + col.COLOR_RESET; return; }
    const t = typeof value;
    if (t === 'string') {
      let s = value;
      if (ctx.limitString && s.length > ctx.limitString) { s = s.substr(0, ctx.limitString) + '...'; }
      ctx.output += col.COLOR_BOLD_MAGENTA + quoteJson(s) + col.COLOR_RESET;
      return;
    }
    if (t === 'number' || t === 'bigint') { ctx.output += col.COLOR_BOLD_GREEN + String(value) + col.COLOR_RESET; return; }
    if (t === 'boolean') { ctx.output += col.COLOR_BOLD_MAGENTA + String(value) + col.COLOR_RESET; return; }
    if (t === 'symbol') { ctx.output += value.toString(); return; }
    if (t === 'function') {
      if (depth === 0) { ctx.output += Function.prototype.toString.call(value); } else { ctx.output += functionSummary(value); }
      return;
    }
    // objects
    const seenAt = ctx.seen.indexOf(value);
    if (seenAt !== -1) { ctx.output += ctx.paths[seenAt]; return; }
    if (typeof value._PRINT === 'function') {
      const sub = { output: '', colors: ctx.colors, pretty: ctx.pretty, level: depth };
      value._PRINT(sub);
      ctx.output += sub.output;
      return;
    }
    if (!Array.isArray(value) && typeof value.toString === 'function' &&
        value.toString !== Object.prototype.toString && !(value instanceof Error && value.constructor === Error && false)) {
      ctx.output += String(value.toString());
      return;
    }
    ctx.seen.push(value);
    ctx.paths.push(path);
    const nl = ctx.pretty ? '\n' : '';
    const indent = (n) => (ctx.pretty ? '  '.repeat(n) : '');
    if (Array.isArray(value)) {
      if (value.length === 0) { ctx.output += '[ ]'; } else {
        ctx.output += '[';
        for (let i = 0; i < value.length; i++) {
          ctx.output += (i === 0 ? ' ' : ', ') + nl + indent(depth + 1);
          printRecursive(value[i], ctx, path + '[' + i + ']', depth + 1);
        }
        ctx.output += ' ' + nl + indent(depth) + ']';
      }
    } else {
      let keys = Object.keys(value);
      const proto = Object.getPrototypeOf(value);
      if (proto && proto !== Object.prototype && typeof proto.constructor === 'function' &&
          /^class\b/.test(Function.prototype.toString.call(proto.constructor))) {
        keys = Object.getOwnPropertyNames(proto).filter((k) => k !== 'constructor').concat(keys);
      }
      if (keys.length === 0) {
        ctx.output += '{ ' + nl + indent(depth) + '}';
      } else {
        ctx.output += '{';
        keys.forEach((k, i) => {
          ctx.output += (i === 0 ? ' ' : ', ') + nl + indent(depth + 1) + col.COLOR_BOLD_CYAN + quoteJson(k) + col.COLOR_RESET + ' : ';
          let v;
          try { v = value[k]; } catch (e) { v = undefined; }
          printRecursive(v, ctx, path + '[' + k + ']', depth + 1);
        });
        ctx.output += ' ' + nl + indent(depth) + '}';
      }
    }
    ctx.seen.pop();
    ctx.paths.pop();
  }

  function inspect(value, options) {
    const ctx = {
      output: '', seen: [], paths: [], colors: false, limitString: 0,
      pretty: !!(options && options.prettyPrint),
    };
    printRecursive(value, ctx, '~', 0);
    return ctx.output;
  }

  function stringOfArg(a, colors, pretty) {
    if (typeof a === 'string') { return a; }
    const ctx = { output: '', seen: [], paths: [], colors: colors, pretty: pretty, limitString: 256 };
    printRecursive(a, ctx, '~', 0);
    return ctx.output;
  }

  function print() {
    const parts = [];
    for (let i = 0; i < arguments.length; i++) { parts.push(stringOfArg(arguments[i], state.colors, state.pretty)); }
    output(parts.join(' ') + '\n');
  }
  function printPlain() {
    const parts = [];
    for (let i = 0; i < arguments.length; i++) { parts.push(stringOfArg(arguments[i], false, false)); }
    output(parts.join(' ') + '\n');
  }

  function sprintf(fmt) {
    const args = Array.prototype.slice.call(arguments, 1);
    let i = 0;
    return String(fmt).replace(/%([%sdijfoO])/g, (m, c) => {
      if (c === '%') { return '%'; }
      if (i >= args.length) { return m; }
      const a = args[i++];
      switch (c) {
        case 's': return typeof a === 'string' ? a : (a !== null && typeof a === 'object' && !(a instanceof Error) ? inspect(a) : String(a));
        case 'd': case 'i': return String(parseInt(a, 10));
        case 'f': return String(Number(a));
        case 'j': return JSON.stringify(a);
        default: return inspect(a);
      }
    });
  }
  function printf() { output(sprintf.apply(null, arguments)); }

  // ---------------------------------------------------------------------------------------------
  // the connection (`arango`)
  const STATUS_TEXT = {
    200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request',
    401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
    409: 'Conflict', 410: 'Gone', 412: 'Precondition Failed', 413: 'Payload Too Large', 500: 'Internal Server Error',
    501: 'Not Implemented', 503: 'Service Unavailable',
  };

  function requestBody(body) {
    if (body === null || body === undefined) { return null; }
    if (typeof body === 'string') { return body; }
    return JSON.stringify(body);
  }

  // The stream transaction a `db._executeTransaction` action runs in: requests to its database carry it.
  let actionTrx = null;
  function inActionTrx(url) {
    if (actionTrx === null) { return false; }
    const m = /^\/_db\/([^/?]+)/.exec(url);
    const db = m ? decodeURIComponent(m[1]) : SYS.info().database;
    return db === actionTrx.db;
  }

  function sendRequest(method, url, body, headers, raw) {
    const hs = {};
    if (headers !== undefined && headers !== null) {
      for (const k of Object.keys(headers)) { hs[k.toLowerCase()] = String(headers[k]); }
    }
    if (hs['x-arango-trx-id'] === undefined && inActionTrx(String(url))) { hs['x-arango-trx-id'] = actionTrx.id; }
    const r = SYS.request(method, String(url), requestBody(body), hs, !!raw);
    if (r.notConnected) {
      throw arangoError(ERRORS.ERROR_SIMPLE_CLIENT_COULD_NOT_CONNECT.code, 'not connected', 500);
    }
    if (r.transport !== undefined) {
      if (raw) { return { error: true, errorNum: 503, errorMessage: r.transport }; }
      return { error: true, errorNum: r.errorNum, errorMessage: r.transport, code: 500 };
    }
    const statusLine = r.code + ' ' + (STATUS_TEXT[r.code] || '');
    if (raw) {
      const res = { code: r.code, error: r.code >= 400, headers: r.headers };
      if (r.code >= 400) { res.errorNum = r.code; res.errorMessage = statusLine; }
      if (r.hasParsed) { res.parsedBody = r.parsed; }
      if (r.body !== undefined) { res.body = r.body; }
      return res;
    }
    if (r.hasParsed) { return r.parsed; }
    if (r.body !== undefined && r.body !== '') { return r.body; }
    const res = { code: r.code, error: r.code >= 400 };
    if (r.code >= 400) { res.errorNum = r.code; res.errorMessage = statusLine; }
    return res;
  }

  function needBody(name, body) {
    if (body === undefined) { throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, 'usage: ' + name + '(<url>, <body>[, <headers>])', 400); }
  }

  class ArangoConnection {
    GET(url, headers) { return sendRequest('GET', url, null, headers, false); }
    GET_RAW(url, headers) { return sendRequest('GET', url, null, headers, true); }
    HEAD(url, headers) { return sendRequest('HEAD', url, null, headers, false); }
    HEAD_RAW(url, headers) { return sendRequest('HEAD', url, null, headers, true); }
    DELETE(url, body, headers) { return sendRequest('DELETE', url, body === '' ? null : body, headers, false); }
    DELETE_RAW(url, body, headers) { return sendRequest('DELETE', url, body === '' ? null : body, headers, true); }
    OPTIONS(url, body, headers) { needBody('options', body); return sendRequest('OPTIONS', url, body, headers, false); }
    OPTIONS_RAW(url, body, headers) { needBody('options', body); return sendRequest('OPTIONS', url, body, headers, true); }
    POST(url, body, headers) { needBody('post', body); return sendRequest('POST', url, body, headers, false); }
    POST_RAW(url, body, headers) { needBody('post', body); return sendRequest('POST', url, body, headers, true); }
    PUT(url, body, headers) { needBody('put', body); return sendRequest('PUT', url, body, headers, false); }
    PUT_RAW(url, body, headers) { needBody('put', body); return sendRequest('PUT', url, body, headers, true); }
    PATCH(url, body, headers) { needBody('patch', body); return sendRequest('PATCH', url, body, headers, false); }
    PATCH_RAW(url, body, headers) { needBody('patch', body); return sendRequest('PATCH', url, body, headers, true); }
    reconnect(endpoint, database, username, password) {
      try {
        SYS.reconnect(String(endpoint), String(database === undefined ? '_system' : database),
          username === undefined ? undefined : String(username),
          password === undefined ? undefined : String(password));
      } catch (e) {
        throw fromNative(e);
      }
      try { internalModule.db._flushCache(); } catch (e) { /* ignored, as arangosh does */ }
      return true;
    }
    getEndpoint() { return SYS.info().endpoint; }
    isConnected() { return SYS.info().connected; }
    connectedUser() { return SYS.info().username; }
    getVersion() { return SYS.info().version; }
    getMode() { return SYS.info().mode; }
    getRole() { return SYS.info().role; }
    getDatabaseName() { return SYS.info().database; }
    setDatabaseName(name) { SYS.setDatabase(String(name)); return true; }
    lastErrorMessage() { return SYS.info().lastErrorMessage; }
    lastHttpReturnCode() { return SYS.info().lastHttpReturnCode; }
    timeout(s) { if (s === undefined) { return SYS.timeout(); } SYS.timeout(Number(s)); return SYS.timeout(); }
    forceJson() { return true; }
    protocol() { return 'http'; }
    toString() {
      const i = SYS.info();
      return '[object ArangoConnection:' + i.normalized + ',' + i.version + ',' + (i.connected ? 'connected' : 'unconnected') + ']';
    }
  }
  const arango = new ArangoConnection();

  // ---------------------------------------------------------------------------------------------
  // collections
  const KEY_RE = /^([a-zA-Z0-9_:\-@.()+,=;$!*'%])+$/;
  const TYPE_NAMES = { 2: 'document', 3: 'edge' };
  const STATUS_NAMES = { 0: 'corrupted', 1: 'new born', 2: 'unloaded', 3: 'loaded', 4: 'unloading', 5: 'deleted', 6: 'loading' };

  function enc(s) { return encodeURIComponent(String(s)); }
  function query(params) {
    const parts = [];
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (v !== undefined && v !== null) { parts.push(k + '=' + enc(v)); }
    }
    return parts.length ? '?' + parts.join('&') : '';
  }

  // byExample/firstExample take an object, or attribute/value pairs
  function exampleOf(args) {
    if (args.length <= 1) { return args[0]; }
    const example = {};
    for (let i = 0; i + 1 < args.length; i += 2) { example[args[i]] = args[i + 1]; }
    return example;
  }

  class ArangoCollection {
    constructor(database, data) {
      Object.defineProperty(this, '_database', { value: database, writable: true, enumerable: false });
      this._dbName = database._dbName;
      this._dbPrefix = '/_db/' + enc(database._dbName);
      this._id = data.id === undefined ? null : String(data.id);
      this._name = data.name === undefined ? null : data.name;
      this._status = data.status === undefined ? null : data.status;
      this._type = data.type === undefined ? null : data.type;
    }
    _baseurl(suffix) {
      let u = this._dbPrefix + '/_api/collection/' + enc(this._name === null ? this._id : this._name);
      if (suffix) { u += '/' + suffix; }
      return u;
    }
    // The key of a document handle: a key, '<collection>/<key>' (this collection, by name or id), or an
    // object with `_id` or `_key`; anything else is an illegal document identifier (1205).
    _keyOf(id) {
      let s = id;
      if (id !== null && typeof id === 'object') {
        if (id._id !== undefined) { s = id._id; } else if (id._key !== undefined) { s = id._key; } else {
          throw arangoError(ERRORS.ERROR_ARANGO_DOCUMENT_HANDLE_BAD.code, messageOf('ERROR_ARANGO_DOCUMENT_HANDLE_BAD'), 400);
        }
      }
      if (typeof s !== 'string' && typeof s !== 'number') {
        throw arangoError(ERRORS.ERROR_ARANGO_DOCUMENT_HANDLE_BAD.code, messageOf('ERROR_ARANGO_DOCUMENT_HANDLE_BAD'), 400);
      }
      s = String(s);
      const slash = s.indexOf('/');
      if (slash !== -1) {
        const coll = s.slice(0, slash);
        s = s.slice(slash + 1);
        if (coll !== this.name() && coll !== this._id) {
          throw arangoError(ERRORS.ERROR_ARANGO_CROSS_COLLECTION_REQUEST.code, messageOf('ERROR_ARANGO_CROSS_COLLECTION_REQUEST'), 400);
        }
      }
      if (!KEY_RE.test(s)) {
        throw arangoError(ERRORS.ERROR_ARANGO_DOCUMENT_HANDLE_BAD.code, messageOf('ERROR_ARANGO_DOCUMENT_HANDLE_BAD'), 400);
      }
      return s;
    }
    _documenturl(id) {
      return this._dbPrefix + '/_api/document/' + enc(this.name()) + '/' + enc(this._keyOf(id));
    }
    // An array of handles as the document API's array bodies take them: `{_key[, _rev]}` each.
    _handles(ids) {
      return ids.map((id) => {
        const h = { _key: this._keyOf(id) };
        const rev = this._revOf(id);
        if (rev !== undefined) { h._rev = rev; }
        return h;
      });
    }
    _revOf(id) {
      return (id !== null && typeof id === 'object' && id._rev !== undefined) ? id._rev : undefined;
    }
    refresh() {
      const r = checkRequestResult(arango.GET(this._dbPrefix + '/_api/collection/' + enc(this._name === null ? this._id : this._name)));
      this._id = String(r.id);
      this._name = r.name;
      this._status = r.status;
      this._type = r.type;
    }
    name() { if (this._name === null) { this.refresh(); } return this._name; }
    type() { if (this._type === null) { this.refresh(); } return this._type; }
    status() { if (this._status === null) { this.refresh(); } return this._status; }
    _PRINT(context) {
      let status = 'unknown';
      let type = 'unknown';
      try { status = STATUS_NAMES[this.status()] || 'unknown'; type = TYPE_NAMES[this.type()] || 'unknown'; } catch (e) { /* shown as unknown */ }
      context.output += '[ArangoCollection ' + this._id + ', "' + this._name + '" (type ' + type + ', status ' + status + ')]';
    }
    toString() { return '[ArangoCollection: ' + this._id + ']'; }
    count(details) {
      const r = checkRequestResult(arango.GET(this._baseurl('count') + (details ? '?details=true' : '')));
      return r.count;
    }
    properties(props) {
      const keys = ['globallyUniqueId', 'isSmart', 'isSystem', 'waitForSync', 'shardKeys', 'smartGraphAttribute',
        'smartJoinAttribute', 'numberOfShards', 'keyOptions', 'replicationFactor', 'minReplicationFactor',
        'writeConcern', 'distributeShardsLike', 'shardingStrategy', 'cacheEnabled', 'computedValues',
        'syncByRevision', 'schema', 'isDisjoint', 'groupId'];
      let r;
      if (props === undefined) {
        r = checkRequestResult(arango.GET(this._baseurl('properties')));
      } else {
        const body = {};
        for (const k of ['waitForSync', 'replicationFactor', 'writeConcern', 'minReplicationFactor', 'cacheEnabled', 'computedValues', 'schema']) {
          if (props.hasOwnProperty(k)) { body[k] = props[k]; }
        }
        r = checkRequestResult(arango.PUT(this._baseurl('properties'), body));
      }
      const result = {};
      for (const k of keys) { if (r.hasOwnProperty(k)) { result[k] = r[k]; } }
      return result;
    }
    figures(details) { return checkRequestResult(arango.GET(this._baseurl('figures') + (details ? '?details=true' : ''))).figures; }
    checksum(withRevisions, withData) {
      const r = checkRequestResult(arango.GET(this._baseurl('checksum') + query({ withRevisions: withRevisions ? 'true' : undefined, withData: withData ? 'true' : undefined })));
      return { checksum: r.checksum, revision: r.revision };
    }
    revision() { return checkRequestResult(arango.GET(this._baseurl('revision'))).revision; }
    truncate(options) {
      let wfs;
      if (typeof options === 'boolean') { wfs = options; } else if (options && typeof options === 'object') { wfs = options.waitForSync; }
      checkRequestResult(arango.PUT(this._baseurl('truncate') + '?compact=true' + (wfs ? '&waitForSync=true' : ''), ''));
      this._status = null;
    }
    drop(options) {
      const sys = options && typeof options === 'object' && options.isSystem;
      const r = arango.DELETE(this._baseurl() + (sys ? '?isSystem=true' : ''));
      if (r && r.error === true && r.errorNum !== ERRORS.ERROR_ARANGO_DATA_SOURCE_NOT_FOUND.code) { checkRequestResult(r); }
      this._status = 5;
      if (this._database && this._name !== null) { this._database._forget(this._name); }
    }
    rename(name) {
      const r = checkRequestResult(arango.PUT(this._baseurl('rename'), { name: name }));
      const old = this._name;
      this._name = r.name;
      if (this._database) { this._database._forget(old); this._database._remember(this); }
    }
    load() { checkRequestResult(arango.PUT(this._baseurl('load'), '')); this._status = null; }
    unload() { checkRequestResult(arango.PUT(this._baseurl('unload'), '')); this._status = null; }
    ensureIndex(def) {
      if (def === null || typeof def !== 'object' || Array.isArray(def)) { throw 'usage: ensureIndex(<description>)'; }
      return checkRequestResult(arango.POST(this._dbPrefix + '/_api/index?collection=' + enc(this.name()), def));
    }
    indexes(withStats, withHidden) {
      const r = checkRequestResult(arango.GET(this._dbPrefix + '/_api/index?collection=' + enc(this.name()) + '&withStats=' + (withStats ? 'true' : 'false') + (withHidden ? '&withHidden=true' : '')));
      return r.indexes;
    }
    getIndexes(withStats, withHidden) { return this.indexes(withStats, withHidden); }
    _indexUrl(id) {
      if (id !== null && typeof id === 'object') { id = id.id; }
      id = String(id);
      const slash = id.indexOf('/');
      if (slash !== -1) { id = id.substr(slash + 1); }
      return this._dbPrefix + '/_api/index/' + enc(this.name()) + '/' + enc(id);
    }
    index(id) { return checkRequestResult(arango.GET(this._indexUrl(id))); }
    dropIndex(id) {
      const r = arango.DELETE(this._indexUrl(id));
      if (r && r.error === true && r.errorNum === ERRORS.ERROR_ARANGO_INDEX_NOT_FOUND.code) { return false; }
      checkRequestResult(r);
      return true;
    }
    _writeOptions(options, extra) {
      const q = {};
      if (options !== null && typeof options === 'object') {
        for (const k of ['waitForSync', 'returnNew', 'returnOld', 'silent', 'overwrite', 'overwriteMode', 'keepNull', 'mergeObjects', 'ignoreRevs', 'refillIndexCaches']) {
          if (options[k] !== undefined) { q[k] = String(options[k]); }
        }
      }
      for (const k of Object.keys(extra || {})) { if (q[k] === undefined) { q[k] = extra[k]; } }
      return query(q);
    }
    save(from, to, data, options) { return this.insert(from, to, data, options); }
    insert(from, to, data, options) {
      let doc = from;
      let opts = to;
      if (this.type() === 3 && (typeof from === 'string' || (from && typeof from === 'object' && from._id !== undefined && !Array.isArray(from) && data !== undefined))) {
        doc = Object.assign({}, data || {});
        doc._from = typeof from === 'object' ? from._id : from;
        doc._to = typeof to === 'object' ? to._id : to;
        opts = options;
      }
      if (doc === undefined || doc === null || typeof doc !== 'object') {
        throw arangoError(ERRORS.ERROR_ARANGO_DOCUMENT_TYPE_INVALID.code, messageOf('ERROR_ARANGO_DOCUMENT_TYPE_INVALID'), 400);
      }
      const url = this._dbPrefix + '/_api/document/' + enc(this.name()) + this._writeOptions(opts);
      const r = arango.POST(url, doc);
      if (Array.isArray(doc) && Array.isArray(r)) { return r; }
      checkRequestResult(r);
      if (opts && opts.silent) { return true; }
      return r;
    }
    document(id, options) {
      if (Array.isArray(id)) {
        return checkRequestResult(arango.PUT(this._dbPrefix + '/_api/document/' + enc(this.name()) + '?onlyget=true&ignoreRevs=false', this._handles(id)));
      }
      const headers = {};
      const rev = this._revOf(id);
      if (rev !== undefined) { headers['if-match'] = JSON.stringify(rev); }
      const r = arango.GET(this._documenturl(id), headers);
      if (r && r.error === true && r.code === 412) { r.errorNum = ERRORS.ERROR_ARANGO_CONFLICT.code; }
      return checkRequestResult(r);
    }
    exists(id) {
      try {
        const d = this.document(id);
        return { _id: d._id, _key: d._key, _rev: d._rev };
      } catch (e) {
        if (e instanceof ArangoError && e.errorNum === ERRORS.ERROR_ARANGO_DOCUMENT_NOT_FOUND.code) { return false; }
        throw e;
      }
    }
    _modify(method, id, data, overwrite, third, waitForSync) {
      let options = overwrite;
      if (typeof overwrite !== 'object' || overwrite === null) {
        options = { overwrite: overwrite };
        if (method === 'PATCH') { options.keepNull = third; options.waitForSync = waitForSync; } else { options.waitForSync = third; }
      }
      const headers = {};
      const rev = this._revOf(id);
      const q = { ignoreRevs: 'false' };
      if (method === 'PATCH') { q.keepNull = options.keepNull === false ? 'false' : 'true'; q.mergeObjects = options.mergeObjects === false ? 'false' : 'true'; }
      if (rev !== undefined && !options.overwrite) { headers['if-match'] = JSON.stringify(rev); }
      if (Array.isArray(id)) {
        // arangosh pairs the handles with the new contents: the n-th document goes to the n-th handle
        let body = this._handles(id);
        if (method !== 'DELETE') {
          if (!Array.isArray(data) || data.length !== id.length) {
            throwBadParameter('the handles and the documents must be arrays of the same length');
          }
          body = data.map((d, i) => {
            const doc = Object.assign({}, d, { _key: body[i]._key });
            if (body[i]._rev !== undefined && !options.overwrite) { doc._rev = body[i]._rev; } else { delete doc._rev; }
            return doc;
          });
        } else if (options.overwrite) {
          body = body.map((h) => ({ _key: h._key }));
        }
        const url = this._dbPrefix + '/_api/document/' + enc(this.name()) + this._writeOptions(options, q);
        return checkRequestResult(method === 'PATCH' ? arango.PATCH(url, body) : method === 'PUT' ? arango.PUT(url, body) : arango.DELETE(url, body));
      }
      const url = this._documenturl(id) + this._writeOptions(options, q);
      let r;
      if (method === 'DELETE') { r = arango.DELETE(url, null, headers); } else if (method === 'PUT') { r = arango.PUT(url, data, headers); } else { r = arango.PATCH(url, data, headers); }
      if (r && r.error === true && r.code === 412) { r.errorNum = ERRORS.ERROR_ARANGO_CONFLICT.code; }
      checkRequestResult(r);
      if (options.silent) { return true; }
      return r;
    }
    replace(id, data, overwrite, waitForSync) { return this._modify('PUT', id, data, overwrite, waitForSync); }
    update(id, data, overwrite, keepNull, waitForSync) { return this._modify('PATCH', id, data, overwrite, keepNull, waitForSync); }
    remove(id, overwrite, waitForSync) { return this._modify('DELETE', id, undefined, overwrite, waitForSync); }
    _simple(what, body) { return checkRequestResult(arango.PUT(this._dbPrefix + '/_api/simple/' + what, Object.assign({ collection: this.name() }, body))); }
    all() { return new SimpleQuery(this, 'all', {}); }
    toArray() { return this.all().toArray(); }
    any() { return this._simple('any', {}).document; }
    byExample() {
      return new SimpleQuery(this, 'by-example', { example: exampleOf(arguments) });
    }
    firstExample() {
      const example = exampleOf(arguments);
      const r = arango.PUT(this._dbPrefix + '/_api/simple/first-example', { collection: this.name(), example: example });
      if (r && r.error === true && r.code === 404) { return null; }
      return checkRequestResult(r).document;
    }
    documents(keys) { return this._simple('lookup-by-keys', { keys: keys }); }
    removeByKeys(keys) { return this._simple('remove-by-keys', { keys: keys }); }
    removeByExample(example) { return this._simple('remove-by-example', { example: example }).deleted; }
  }
  ArangoCollection.TYPE_DOCUMENT = 2;
  ArangoCollection.TYPE_EDGE = 3;
  ArangoCollection.STATUS_CORRUPTED = 0;
  ArangoCollection.STATUS_NEW_BORN = 1;
  ArangoCollection.STATUS_UNLOADED = 2;
  ArangoCollection.STATUS_LOADED = 3;
  ArangoCollection.STATUS_UNLOADING = 4;
  ArangoCollection.STATUS_DELETED = 5;
  ArangoCollection.STATUS_LOADING = 6;

  // `all()` / `byExample()`: runs when first read, through the server's simple-query cursor API.
  class SimpleQuery {
    constructor(collection, kind, body) {
      this._collection = collection; this._kind = kind; this._body = body;
      this._skip = undefined; this._limit = undefined; this._rows = null; this._pos = 0;
    }
    skip(n) { this._skip = n; return this; }
    limit(n) { this._limit = n; return this; }
    _run() {
      if (this._rows !== null) { return; }
      const c = this._collection;
      const body = Object.assign({ collection: c.name() }, this._body);
      if (this._skip !== undefined) { body.skip = this._skip; }
      if (this._limit !== undefined) { body.limit = this._limit; }
      let r = checkRequestResult(arango.PUT(c._dbPrefix + '/_api/simple/' + this._kind, body));
      const rows = r.result.slice();
      while (r.hasMore) {
        r = checkRequestResult(arango.POST(c._dbPrefix + '/_api/cursor/' + enc(r.id), ''));
        for (const x of r.result) { rows.push(x); }
      }
      this._rows = rows;
    }
    toArray() { this._run(); return this._rows.slice(this._pos); }
    hasNext() { this._run(); return this._pos < this._rows.length; }
    next() { this._run(); return this._rows[this._pos++]; }
    count() { this._run(); return this._rows.length; }
    _PRINT(context) {
      this._run();
      const rows = this._rows.slice(this._pos, this._pos + 10);
      context.output += stringOfArg(rows, context.colors, context.pretty);
      context.output += '\n[object SimpleQuery:' + this._kind + ', count: ' + this._rows.length + ']';
    }
  }

  // AQL: statements and their cursors (`db._query`, `db._createStatement`)
  class ArangoStatement {
    constructor(database, data) {
      if (data === undefined || data === null) { throwBadParameter('no query specified'); }
      if (typeof data === 'string') { data = { query: data }; }
      this._database = database;
      this._query = data.query;
      this._bindVars = Object.assign({}, data.bindVars || {});
      this._count = data.count === true;
      this._batchSize = data.batchSize;
      this._options = data.options;
    }
    bind(k, v) {
      if (k !== null && typeof k === 'object') { this._bindVars = Object.assign({}, k); } else { this._bindVars[k] = v; }
    }
    getBindVariables() { return this._bindVars; }
    getQuery() { return this._query; }
    setQuery(q) { this._query = q; }
    getCount() { return this._count; }
    setCount(c) { this._count = c === true; }
    getBatchSize() { return this._batchSize; }
    setBatchSize(n) { this._batchSize = n; }
    parse() { return checkRequestResult(arango.POST('/_api/query', { query: this._query })); }
    explain(options) {
      return checkRequestResult(arango.POST('/_api/explain', { query: this._query, bindVars: this._bindVars, options: options || {} }));
    }
    execute(cursorOptions, options) {
      const body = { query: this._query, bindVars: this._bindVars };
      const co = Object.assign({}, cursorOptions || {});
      if (this._count || co.count) { body.count = true; }
      if (co.batchSize !== undefined || this._batchSize !== undefined) { body.batchSize = co.batchSize !== undefined ? co.batchSize : this._batchSize; }
      if (co.ttl !== undefined) { body.ttl = co.ttl; }
      const opts = Object.assign({}, this._options || {}, co.options || {}, options || {});
      for (const k of Object.keys(co)) { if (!['count', 'batchSize', 'ttl', 'options', 'cache', 'memoryLimit'].includes(k)) { opts[k] = co[k]; } }
      if (Object.keys(opts).length > 0) { body.options = opts; }
      return new ArangoQueryCursor(this._database, checkRequestResult(arango.POST('/_api/cursor', body)));
    }
  }

  class ArangoQueryCursor {
    constructor(database, data) {
      this._database = database;
      this._id = data.id;
      this._rows = data.result.slice();
      this._pos = 0;
      this._hasMore = data.hasMore === true;
      this._count = data.count;
      this._extra = data.extra;
      this._cached = data.cached === true;
    }
    _fetch() {
      const r = checkRequestResult(arango.POST('/_api/cursor/' + enc(this._id), ''));
      this._rows = this._rows.slice(this._pos).concat(r.result);
      this._pos = 0;
      this._hasMore = r.hasMore === true;
      if (r.extra !== undefined) { this._extra = r.extra; }
    }
    hasNext() {
      if (this._pos < this._rows.length) { return true; }
      if (this._hasMore) { this._fetch(); return this._pos < this._rows.length; }
      return false;
    }
    next() { return this.hasNext() ? this._rows[this._pos++] : undefined; }
    toArray() {
      while (this._hasMore) { this._fetch(); }
      const out = this._rows.slice(this._pos);
      this._pos = this._rows.length;
      return out;
    }
    count() { return this._count; }
    getExtra() { return this._extra; }
    getCached() { return this._cached; }
    dispose() {
      if (this._hasMore && this._id !== undefined) {
        try { arango.DELETE('/_api/cursor/' + enc(this._id)); } catch (e) { /* gone already */ }
      }
      this._hasMore = false;
    }
    [Symbol.iterator]() {
      const self = this;
      return { next() { return self.hasNext() ? { value: self.next(), done: false } : { value: undefined, done: true }; } };
    }
    toString() { return '[object ArangoQueryCursor]'; }
    _PRINT(context) {
      let text = '[object ArangoQueryCursor';
      if (this._id !== undefined && this._hasMore) { text += ' ' + this._id; }
      text += ', count: ' + (this._count !== undefined ? this._count : this._rows.length - this._pos);
      text += ', cached: ' + this._cached + ', hasMore: ' + (this._hasMore || this._rows.length - this._pos > 10) + ']';
      const shown = [];
      while (shown.length < 10 && this.hasNext()) { shown.push(this.next()); }
      context.output += text + '\n\n' + stringOfArg(shown, context.colors, context.pretty);
    }
  }

  // the aql template tag: {query, bindVars}, values bound as @value0 …, collections as @@value0
  function aql(strings) {
    const bindVars = {};
    let query = strings[0];
    const names = new Map();
    for (let i = 1; i < strings.length; i++) {
      let v = arguments[i];
      if (v !== null && typeof v === 'object' && v._aqlLiteral === true) {
        query += v.value + strings[i];
        continue;
      }
      if (v !== null && typeof v === 'object' && typeof v.query === 'string' && v.bindVars !== undefined) {
        // a nested aql object: its text and its values
        let q = v.query;
        for (const k of Object.keys(v.bindVars).sort((a, b) => b.length - a.length)) {
          const fresh = (k.startsWith('@') ? '@' : '') + 'value' + Object.keys(bindVars).length;
          bindVars[fresh] = v.bindVars[k];
          q = q.split('@' + k).join('@' + fresh);
        }
        query += q + strings[i];
        continue;
      }
      let isCollection = v instanceof ArangoCollection;
      if (isCollection) { v = v.name(); }
      const key = (isCollection ? 'c:' : 'v:') + JSON.stringify(v);
      let name = names.get(key);
      if (name === undefined) {
        name = (isCollection ? '@' : '') + 'value' + Object.keys(bindVars).length;
        names.set(key, name);
        bindVars[name] = v;
      }
      query += '@' + name + strings[i];
    }
    return { query: query, bindVars: bindVars };
  }
  aql.literal = function (value) { return { _aqlLiteral: true, value: value === undefined ? '' : String(value) }; };
  aql.join = function (values, sep) {
    if (sep === undefined) { sep = ' '; }
    const strings = [''];
    for (let i = 1; i < values.length; i++) { strings.push(sep); }
    strings.push('');
    return aql.apply(null, [strings].concat(values));
  };

  // ---------------------------------------------------------------------------------------------
  // the database (`db`)
  class ArangoTransactionCollection {
    constructor(trx, collection) { this._trx = trx; this._collection = collection; }
    _h() { return { 'x-arango-trx-id': this._trx._id }; }
    name() { return this._collection.name(); }
    _url(suffix) { return this._collection._dbPrefix + '/_api/document/' + enc(this._collection.name()) + (suffix || ''); }
    insert(doc, options) { return checkRequestResult(arango.POST(this._url(this._collection._writeOptions(options)), doc, this._h())); }
    save(doc, options) { return this.insert(doc, options); }
    document(id) { return checkRequestResult(arango.GET(this._collection._documenturl(id), this._h())); }
    exists(id) { try { const d = this.document(id); return { _id: d._id, _key: d._key, _rev: d._rev }; } catch (e) { if (e.errorNum === 1202) { return false; } throw e; } }
    replace(id, data, options) { return checkRequestResult(arango.PUT(this._collection._documenturl(id) + this._collection._writeOptions(options), data, this._h())); }
    update(id, data, options) { return checkRequestResult(arango.PATCH(this._collection._documenturl(id) + this._collection._writeOptions(options), data, this._h())); }
    remove(id, options) { return checkRequestResult(arango.DELETE(this._collection._documenturl(id) + this._collection._writeOptions(options), null, this._h())); }
    count() { return checkRequestResult(arango.GET(this._collection._baseurl('count'), this._h())).count; }
    truncate() { checkRequestResult(arango.PUT(this._collection._baseurl('truncate'), '', this._h())); }
  }

  class ArangoTransaction {
    constructor(database, data) {
      this._database = database;
      this._id = String(data.id);
      this._status = data.status;
    }
    id() { return this._id; }
    _url() { return '/_db/' + enc(this._database._dbName) + '/_api/transaction/' + enc(this._id); }
    collection(name) {
      const c = this._database._collection(name);
      if (c === null) { throw arangoError(ERRORS.ERROR_ARANGO_DATA_SOURCE_NOT_FOUND.code, messageOf('ERROR_ARANGO_DATA_SOURCE_NOT_FOUND'), 404); }
      return new ArangoTransactionCollection(this, c);
    }
    status() { return checkRequestResult(arango.GET(this._url())).result; }
    running() { return this.status().status === 'running'; }
    commit() { return checkRequestResult(arango.PUT(this._url(), '')).result; }
    abort() { return checkRequestResult(arango.DELETE(this._url())).result; }
    query() { throw arangoError(ERRORS.ERROR_NOT_IMPLEMENTED.code, 'AQL queries are not supported by arangorepl: use the collection methods', 501); }
    _PRINT(context) { context.output += '[ArangoTransaction ' + this._id + ']'; }
    toString() { return '[ArangoTransaction ' + this._id + ']'; }
  }

  // A view (arangosearch); the server answers as one without any.
  class ArangoView {
    constructor(database, data) {
      Object.defineProperty(this, '_database', { value: database, writable: true, enumerable: false });
      this._id = data.id === undefined ? null : String(data.id);
      this._name = data.name;
      this._type = data.type;
    }
    _url(suffix) { return '/_api/view/' + enc(this._name) + (suffix ? '/' + suffix : ''); }
    name() { return this._name; }
    type() { return this._type; }
    properties(props) {
      if (props === undefined) { return checkRequestResult(arango.GET(this._url('properties'))); }
      return checkRequestResult(arango.PATCH(this._url('properties'), props));
    }
    rename(name) { checkRequestResult(arango.PUT(this._url('rename'), { name: name })); this._name = name; }
    drop() { checkRequestResult(arango.DELETE(this._url())); }
    _PRINT(context) { context.output += '[ArangoView ' + this._id + ', "' + this._name + '" (type ' + this._type + ')]'; }
    toString() { return '[ArangoView: ' + this._id + ']'; }
  }

  class ArangoDatabase {
    constructor() {
      Object.defineProperty(this, '_cache', { value: Object.create(null), writable: true, enumerable: false });
      Object.defineProperty(this, '_props', { value: null, writable: true, enumerable: false });
    }
    get _dbName() { return SYS.info().database; }
    get _connection() { return arango; }
    _remember(c) { this._cache[c._name] = c; }
    _forget(name) { delete this._cache[name]; }
    _current(force) {
      if (this._props === null || force) { this._props = checkRequestResult(arango.GET('/_api/database/current')).result; }
      return this._props;
    }
    _name() { return this._current().name; }
    _id() { return this._current().id; }
    _isSystem() { return this._current().isSystem; }
    _path() { return this._current().path; }
    _properties() { return this._current(true); }
    _useDatabase(name) {
      const old = SYS.info().database;
      if (old === name) { return true; }
      SYS.setDatabase(String(name));
      try {
        this._current(true);
      } catch (e) {
        SYS.setDatabase(old);
        try { this._current(true); } catch (e2) { /* the old one may be gone too */ }
        if (e instanceof ArangoError) { throw e; }
        throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, "cannot use database '" + name + "'", 400);
      }
      this._flushCache();
      return true;
    }
    _databases() { return checkRequestResult(arango.GET('/_api/database')).result; }
    _createDatabase(name, options, users) {
      checkRequestResult(arango.POST('/_api/database', { name: name, options: options || {}, users: users || [] }));
      return true;
    }
    _dropDatabase(name) { checkRequestResult(arango.DELETE('/_api/database/' + enc(name))); return true; }
    _version(details) {
      const r = checkRequestResult(arango.GET('/_api/version' + (details ? '?details=true' : '')));
      return details ? r : r.version;
    }
    _engine() { const r = checkRequestResult(arango.GET('/_api/engine')); delete r.code; return r; }
    _flushCache() {
      for (const k of Object.keys(this._cache)) { this._cache[k]._status = null; }
      this._cache = Object.create(null);
      this._props = null;
      try { this._collections(); } catch (e) { /* ignored, as arangosh does */ }
    }
    _create(name, properties, type, options) {
      let t = 2;
      let opts = options;
      if (type !== null && typeof type === 'object') { opts = type; } else if (type !== undefined) { t = (type === 'edge' || type === 3) ? 3 : 2; }
      const body = Object.assign({}, properties || {}, { name: name, type: (properties && properties.type) || t });
      const q = {};
      if (opts && opts.waitForSyncReplication !== undefined) { q.waitForSyncReplication = opts.waitForSyncReplication ? '1' : '0'; }
      if (opts && opts.enforceReplicationFactor !== undefined) { q.enforceReplicationFactor = opts.enforceReplicationFactor ? '1' : '0'; }
      const r = checkRequestResult(arango.POST('/_api/collection' + query(q), body));
      const c = new ArangoCollection(this, r);
      this._remember(c);
      return c;
    }
    _createDocumentCollection(name, props) { return this._create(name, props, 2); }
    _createEdgeCollection(name, props) { return this._create(name, props, 3); }
    _collection(id) {
      if (id instanceof ArangoCollection) { return id; }
      const key = String(id);
      if (this._cache[key] !== undefined) { return this._cache[key]; }
      const r = arango.GET('/_api/collection/' + enc(key));
      if (r && r.error === true && r.errorNum === ERRORS.ERROR_ARANGO_DATA_SOURCE_NOT_FOUND.code) { return null; }
      checkRequestResult(r);
      const c = new ArangoCollection(this, r);
      this._remember(c);
      return c;
    }
    _collections() {
      const r = checkRequestResult(arango.GET('/_api/collection', { 'x-arango-frontend': 'true' }));
      const list = (r.result || []).map((d) => {
        const c = this._cache[d.name] || new ArangoCollection(this, d);
        c._id = String(d.id); c._status = d.status; c._type = d.type;
        return c;
      });
      const cache = Object.create(null);
      for (const c of list) { cache[c._name] = c; }
      this._cache = cache;
      list.sort((a, b) => { const x = a._name.toLowerCase(); const y = b._name.toLowerCase(); return x < y ? -1 : x > y ? 1 : 0; });
      return list;
    }
    _drop(name, options) {
      const c = (name instanceof ArangoCollection) ? name : this._collection(name);
      if (c === null) { return undefined; }
      c.drop(options);
      return undefined;
    }
    _truncate(name) {
      const c = (name instanceof ArangoCollection) ? name : this._collection(name);
      if (c !== null) { c.truncate(); }
    }
    _createTransaction(data) {
      if (data === null || typeof data !== 'object' || data.action !== undefined) {
        throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, 'usage: _createTransaction(<object>) without an action', 400);
      }
      const r = checkRequestResult(arango.POST('/_api/transaction/begin', data));
      return new ArangoTransaction(this, r.result);
    }
    _transactions() { return checkRequestResult(arango.GET('/_api/transaction')).transactions; }
    _docCollection(id) {
      if (Array.isArray(id)) {
        if (id.length === 0) { throwBadParameter('expecting at least one document handle'); }
        id = id[0];
      }
      const s = (id !== null && typeof id === 'object') ? id._id : String(id);
      const slash = s === undefined ? -1 : s.indexOf('/');
      if (slash === -1) { throw arangoError(ERRORS.ERROR_ARANGO_DOCUMENT_HANDLE_BAD.code, messageOf('ERROR_ARANGO_DOCUMENT_HANDLE_BAD'), 400); }
      const c = this._collection(s.substr(0, slash));
      if (c === null) { throw arangoError(ERRORS.ERROR_ARANGO_DATA_SOURCE_NOT_FOUND.code, messageOf('ERROR_ARANGO_DATA_SOURCE_NOT_FOUND'), 404); }
      return c;
    }
    _document(id) { return this._docCollection(id).document(id); }
    _exists(id) { return this._docCollection(id).exists(id); }
    _remove(id, a, b) { return this._docCollection(id).remove(id, a, b); }
    _replace(id, d, a, b) { return this._docCollection(id).replace(id, d, a, b); }
    _update(id, d, a, b, c) { return this._docCollection(id).update(id, d, a, b, c); }
    _index(id) {
      const s = (id !== null && typeof id === 'object') ? id.id : String(id);
      return checkRequestResult(arango.GET('/_api/index/' + s.split('/').map(enc).join('/')));
    }
    _dropIndex(id) {
      const s = (id !== null && typeof id === 'object') ? id.id : String(id);
      checkRequestResult(arango.DELETE('/_api/index/' + s.split('/').map(enc).join('/')));
      return true;
    }
    // db._query(query, bindVars, cursorOptions, options): query is a string, an aql object, or a whole
    // {query, bindVars, ...} object (then the other arguments shift)
    _query(query, bindVars, cursorOptions, options) {
      let data;
      if (query !== null && typeof query === 'object' && typeof query.query === 'string') {
        data = Object.assign({}, query);
        if (data.bindVars === undefined) { data.bindVars = {}; }
        options = cursorOptions; cursorOptions = bindVars;
        if (query.bindVars === undefined && bindVars !== undefined && !('count' in (bindVars || {})) && !('batchSize' in (bindVars || {}))) {
          data.bindVars = bindVars || {}; cursorOptions = options; options = undefined;
        }
      } else if (typeof query === 'string') {
        data = { query: query, bindVars: bindVars || {} };
      } else {
        throwBadParameter('usage: db._query(<query>, <bindVars>, <cursorOptions>, <options>)');
      }
      return new ArangoStatement(this, data).execute(cursorOptions, options);
    }
    _createStatement(data) { return new ArangoStatement(this, data); }
    _explain(query, bindVars, options) {
      const data = typeof query === 'object' && query !== null ? Object.assign({}, query) : { query: query, bindVars: bindVars || {} };
      if (options !== undefined) { data.options = options; }
      const r = checkRequestResult(arango.POST('/_api/explain', data));
      const lines = ['Query String:', ' ' + data.query, '', 'Execution plan:', ' Id   NodeType'];
      for (const n of r.plan.nodes) {
        lines.push(' ' + String(n.id).padStart(2) + '   ' + n.type + (n.collection ? ' (' + n.collection + ')' : ''));
      }
      print(lines.join('\n'));
    }
    _parse(query) {
      const q = typeof query === 'object' && query !== null ? query.query : query;
      return checkRequestResult(arango.POST('/_api/query', { query: q }));
    }
    // ArangoDB runs the action on the server; here it runs in the shell, inside a stream transaction
    // over the declared collections: every request of the action to this database belongs to it, a
    // return commits it and a throw aborts it.
    _executeTransaction(data) {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        throwBadParameter('usage: _executeTransaction(<object>)');
      }
      let action = data.action;
      if (typeof action === 'string') {
        try { action = (0, eval)('(' + action + ')'); } catch (e) { throwBadParameter('the action is not a function: ' + e.message); }
      }
      if (typeof action !== 'function') { throwBadParameter('missing/invalid action definition for transaction'); }
      if (actionTrx !== null) {
        throw arangoError(ERRORS.ERROR_TRANSACTION_DISALLOWED_OPERATION.code, 'nested transactions are not supported', 400);
      }
      const body = { collections: data.collections || {} };
      for (const k of ['waitForSync', 'lockTimeout', 'maxTransactionSize', 'allowImplicit', 'allowDirtyReads']) {
        if (data[k] !== undefined) { body[k] = data[k]; }
      }
      const r = checkRequestResult(arango.POST('/_api/transaction/begin', body));
      const url = '/_db/' + enc(this._dbName) + '/_api/transaction/' + enc(r.result.id);
      actionTrx = { id: String(r.result.id), db: this._dbName };
      let result;
      try {
        result = action(data.params);
      } catch (e) {
        actionTrx = null;
        try { arango.DELETE(url); } catch (x) { /* the error of the action is the one to report */ }
        throw e;
      }
      actionTrx = null;
      checkRequestResult(arango.PUT(url, ''));
      return result;
    }
    _views() {
      return (checkRequestResult(arango.GET('/_api/view')).result || []).map((v) => new ArangoView(this, v));
    }
    _view(name) {
      const r = arango.GET('/_api/view/' + enc(name));
      if (r && r.error === true && r.errorNum === ERRORS.ERROR_ARANGO_DATA_SOURCE_NOT_FOUND.code) { return null; }
      return new ArangoView(this, checkRequestResult(r));
    }
    _createView(name, type, properties) {
      const body = Object.assign({}, properties || {}, { name: name, type: type });
      return new ArangoView(this, checkRequestResult(arango.POST('/_api/view', body)));
    }
    _dropView(name) {
      const v = this._view(name);
      if (v !== null) { v.drop(); }
      return undefined;
    }
    toString() { return '[object ArangoDatabase "' + SYS.info().database + '"]'; }
  }
  const METHODS = Object.getOwnPropertyNames(ArangoDatabase.prototype).filter((k) => k !== 'constructor');

  const database = new ArangoDatabase();
  const db = new Proxy(database, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || prop in target) { return Reflect.get(target, prop, receiver); }
      if (target._cache[prop] !== undefined) { return target._cache[prop]; }
      if (prop === 'toJSON' || prop === '_PRINT' || prop === 'then' || prop === '_COMPLETIONS') { return undefined; }
      try { target._collections(); } catch (e) { return undefined; }
      return target._cache[prop];
    },
    has(target, prop) { return (prop in target) || (typeof prop === 'string' && target._cache[prop] !== undefined); },
    ownKeys(target) { return Object.keys(target._cache).concat(Reflect.ownKeys(target)); },
    getOwnPropertyDescriptor(target, prop) {
      if (typeof prop === 'string' && target._cache[prop] !== undefined) {
        return { value: target._cache[prop], writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, prop);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // console
  const timers = Object.create(null);
  let groupIndent = '';
  function logArgs(args) {
    const a = Array.prototype.slice.call(args);
    if (a.length === 0) { return ''; }
    if (typeof a[0] !== 'string') { a.unshift('%s'); }
    return groupIndent + sprintf.apply(null, a);
  }
  const consoleModule = {
    log() { SYS.log('info', '', logArgs(arguments)); },
    info() { SYS.log('info', '', logArgs(arguments)); },
    warn() { SYS.log('warning', '', logArgs(arguments)); },
    error() { SYS.log('error', '', logArgs(arguments)); },
    debug() { SYS.log('debug', '', logArgs(arguments)); },
    trace() { SYS.log('trace', '', logArgs(arguments)); },
    dir(o) { SYS.log('info', '', groupIndent + inspect(o)); },
    time(label) { timers[String(label)] = SYS.time(); },
    timeEnd(label) {
      const l = String(label);
      if (timers[l] === undefined) { throw new Error('No such label: ' + l); }
      SYS.log('info', '', groupIndent + l + ': ' + Math.round((SYS.time() - timers[l]) * 1000) + 'ms');
      delete timers[l];
    },
    group() { if (arguments.length) { SYS.log('info', '', logArgs(arguments)); } groupIndent += '  '; },
    groupEnd() { groupIndent = groupIndent.substr(2); },
    assert(cond) { if (!cond) { const m = logArgs(Array.prototype.slice.call(arguments, 1)); SYS.log('error', '', m); throw new Error(m); } },
    topic(spec) {
      const m = /^([^=]*)=(.*)$/.exec(String(spec));
      const topic = m ? m[1] : 'general';
      const level = m ? m[2] : 'info';
      const rest = Array.prototype.slice.call(arguments, 1);
      SYS.log(level, topic, logArgs(rest));
    },
  };
  consoleModule.logLines = consoleModule.log;
  consoleModule.infoLines = consoleModule.info;
  consoleModule.warnLines = consoleModule.warn;
  consoleModule.errorLines = consoleModule.error;
  consoleModule.debugLines = consoleModule.debug;

  // ---------------------------------------------------------------------------------------------
  // modules
  const errorsByNumber = {};
  for (const k of Object.keys(ERRORS)) { errorsByNumber[k] = ERRORS[k].code; }

  const internalModule = {
    db: db,
    arango: arango,
    ArangoError: ArangoError,
    errors: ERRORS,
    COLORS: COLORS,
    print: print,
    printShell: print,
    output: function () { for (let i = 0; i < arguments.length; i++) { output(String(arguments[i])); } },
    printf: printf,
    sprintf: sprintf,
    inspect: inspect,
    sleep: function (s) { SYS.sleep(Number(s)); },
    wait: function (s) { SYS.sleep(Number(s)); return true; },
    time: function () { return SYS.time(); },
    version: SYS.version(),
    platform: SYS.platform(),
    quiet: !!SYS.option('quiet'),
    isEnterprise: function () { return false; },
    env: SYS.env(),
    options: function () { return SYS.options(); },
    exit: function (code) { SYS.exit(code === undefined ? 0 : Number(code)); },
    load: function (file) { return SYS.load(String(file)); },
    genRandomAlphaNumbers: function (n) {
      const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      let s = '';
      for (let i = 0; i < n; i++) { s += chars[Math.floor(Math.random() * chars.length)]; }
      return s;
    },
    startCaptureMode: function () { const old = state.capture; state.capture = ''; return old; },
    stopCaptureMode: function (old) { const r = state.capture; state.capture = old === undefined ? null : old; return r; },
    isCaptureMode: function () { return state.capture !== null; },
    startPrettyPrint: function () { state.pretty = true; },
    stopPrettyPrint: function () { state.pretty = false; },
    base64Encode: function (s) { return SYS.base64(String(s), true); },
    base64Decode: function (s) { return SYS.base64(String(s), false); },
    wal: {
      flush: function (waitForSync, waitForCollector) {
        return checkRequestResult(arango.PUT('/_admin/wal/flush?waitForSync=' + (waitForSync ? 'true' : 'false') + '&waitForCollector=' + (waitForCollector ? 'true' : 'false'), ''));
      },
    },
  };

  const arangodbModule = Object.assign({}, errorsByNumber, {
    db: db,
    arango: arango,
    ArangoError: ArangoError,
    errors: ERRORS,
    print: print,
    printf: printf,
    sprintf: sprintf,
    inspect: inspect,
    output: internalModule.output,
    time: internalModule.time,
    isServer: false,
    isClient: true,
    ArangoCollection: ArangoCollection,
    ArangoDatabase: ArangoDatabase,
    ArangoConnection: ArangoConnection,
    ArangoView: ArangoView,
    ArangoStatement: ArangoStatement,
    ArangoQueryCursor: ArangoQueryCursor,
    aql: aql,
    query: function () { return db._query(aql.apply(null, arguments)); },
    isValidDocumentKey: function (k) { return typeof k === 'string' && k.length > 0 && k.length <= 254 && KEY_RE.test(k); },
    throwBadParameter: throwBadParameter,
    plainServerVersion: function () { return String(arango.getVersion()).replace(/[-+].*$/, ''); },
  });

  function compareTicks(l, r) {
    if (l === null || l === undefined) { l = '0'; }
    if (r === null || r === undefined) { r = '0'; }
    l = String(l); r = String(r);
    if (l.length !== r.length) { return l.length < r.length ? -1 : 1; }
    for (let i = 0; i < l.length; i++) {
      if (l[i] !== r[i]) { return l[i] < r[i] ? -1 : 1; }
    }
    return 0;
  }

  const replicationCommon = {
    compareTicks: compareTicks,
    reconnectRetry: function (endpoint, dbName, user, password) {
      let sleepTime = 0.1;
      let lastError;
      while (sleepTime < 5) {
        try {
          arango.reconnect(endpoint, dbName, user, password);
          return;
        } catch (e) {
          lastError = e;
          print(COLORS.COLOR_RED + 'connecting ' + endpoint + ' failed - retrying (' + e.message + ')' + COLORS.COLOR_RESET);
        }
        sleepTime *= 2;
        SYS.sleep(sleepTime);
      }
      print('giving up!');
      throw lastError;
    },
  };

  function replicationModule() {
    const base = '/_api/replication/';
    const globalBase = '/_db/_system/_api/replication/';
    const logger = {
      state: function () { return checkRequestResult(arango.GET(base + 'logger-state')); },
      tickRanges: function () { return checkRequestResult(arango.GET(base + 'logger-tick-ranges')); },
      firstTick: function () { return checkRequestResult(arango.GET(base + 'logger-first-tick')).firstTick; },
      // with ticks: the log entries after `from` up to `to` (legacy marker form); without: the last tick
      lastLogTick: function (from, to) {
        if (from === undefined && to === undefined) { return checkRequestResult(arango.GET(base + 'logger-state')).state.lastLogTick; }
        return checkRequestResult(arango.GET(base + 'logger-last' + query({ tickStart: from, tickEnd: to })));
      },
    };
    function applierFor(prefix, globalSuffix) {
      // the global applier's requests end with global=true
      const withQuery = (u, params) => u + query(Object.assign({}, params, { global: globalSuffix ? 'true' : undefined }));
      return {
        start: function (initialTick, barrierId) {
          return checkRequestResult(arango.PUT(withQuery(prefix + 'applier-start', { from: initialTick, barrierId: barrierId }), ''));
        },
        stop: function () { return checkRequestResult(arango.PUT(withQuery(prefix + 'applier-stop', {}), '')); },
        state: function () { return checkRequestResult(arango.GET(withQuery(prefix + 'applier-state', {}))); },
        stateAll: function () { return checkRequestResult(arango.GET(withQuery(prefix + 'applier-state-all', {}))); },
        forget: function () { return checkRequestResult(arango.DELETE(withQuery(prefix + 'applier-state', {}))); },
        properties: function (config) {
          if (config === undefined) { return checkRequestResult(arango.GET(withQuery(prefix + 'applier-config', {}))); }
          return checkRequestResult(arango.PUT(withQuery(prefix + 'applier-config', {}), config));
        },
      };
    }
    const applier = applierFor(base, false);
    const globalApplier = applierFor(globalBase, true);

    function waitForResult(config, id) {
      if (!config.hasOwnProperty('progress')) { config.progress = true; }
      // on a terminal a progress bar (standard error); otherwise arangosh's lines
      const bar = config.progress && SYS.progress('start');
      try {
        SYS.sleep(0.05);
        let iterations = 0;
        for (;;) {
          const r = checkRequestResult(arango.PUT('/_api/job/' + enc(id), ''));
          if (r.code !== 204) { return r; }
          ++iterations;
          SYS.sleep(0.05);
          if (config.progress && iterations % 3 === 0) {
            try {
              const progress = applier.state().state.progress;
              if (bar) {
                SYS.progress('update', progress.message);
              } else {
                print('still synchronizing... last received status: ' + progress.time + ': ' + progress.message);
              }
            } catch (e) { /* progress is best effort */ }
          }
        }
      } finally {
        if (bar) { SYS.progress('finish'); }
      }
    }
    function startJob(url, config) {
      const r = checkRequestResult(arango.PUT_RAW(url, config, { 'x-arango-async': 'store' }));
      const id = r.headers['x-arango-async-id'];
      if (id === undefined) {
        throw arangoError(ERRORS.ERROR_REPLICATION_INVALID_RESPONSE.code, 'the server did not start an async job for ' + url, 500);
      }
      return id;
    }
    // arangosh dereferences `config.async`: anything but an object is a TypeError
    function checkConfig(config) {
      if (config === null || typeof config !== 'object') {
        throw new TypeError("Cannot read properties of " + config + " (reading 'async')");
      }
    }
    function syncVia(url, config) {
      checkConfig(config);
      const id = startJob(url, config);
      if (config.async) { return id; }
      return waitForResult(config, id);
    }
    function setupVia(url, config) {
      checkConfig(config);
      if (config.autoStart === undefined) { config.autoStart = true; }
      if (config.includeSystem === undefined) { config.includeSystem = true; }
      if (config.verbose === undefined) { config.verbose = false; }
      return syncVia(url, config);
    }
    return {
      logger: logger,
      applier: applier,
      globalApplier: globalApplier,
      sync: function (config) { return syncVia(base + 'sync', config); },
      syncGlobal: function (config) { return syncVia(globalBase + 'sync?global=true', config); },
      syncCollection: function (name, config) {
        config = config || {};
        config.restrictType = 'include';
        config.restrictCollections = [name];
        config.includeSystem = true;
        return syncVia(base + 'sync', config);
      },
      setupReplication: function (config) { return setupVia(base + 'make-follower', config); },
      setupReplicationGlobal: function (config) { return setupVia(globalBase + 'make-follower?global=true', config); },
      getSyncResult: function (id) {
        const r = checkRequestResult(arango.PUT_RAW('/_api/job/' + enc(id), ''));
        if (r.headers['x-arango-async-id'] !== undefined) {
          if (r.parsedBody !== undefined) { return r.parsedBody; }
          return JSON.parse(r.body);
        }
        return false;
      },
      serverId: function () { return checkRequestResult(arango.GET(base + 'server-id')).serverId; },
      compareTicks: compareTicks,
    };
  }

  // `fs`: the file system, as arangosh's module; errors are ArangoErrors naming the file.
  function fsCall(op, a, b, flag) {
    try {
      return SYS.fs(op, a, b, flag);
    } catch (e) {
      throw fromNative(e, e && e.errorNum === ERRORS.ERROR_FILE_NOT_FOUND.code ? 404 : 500);
    }
  }
  function pathArg(p, name) {
    if (typeof p !== 'string' || p === '') { throwBadParameter('fs.' + name + '(<path>) needs a path as a string'); }
    return p;
  }
  const fsModule = {
    pathSeparator: '/',
    join: function () {
      const parts = Array.prototype.slice.call(arguments).map(String).filter((p) => p !== '');
      return parts.length === 0 ? '.' : fsCall('normalize', parts.join('/'));
    },
    normalize: function (p) { return fsCall('normalize', String(p)); },
    exists: function (p) { return fsCall('exists', String(p)); },
    isFile: function (p) { return fsCall('isFile', String(p)); },
    isDirectory: function (p) { return fsCall('isDirectory', String(p)); },
    size: function (p) { return fsCall('size', pathArg(p, 'size')); },
    mtime: function (p) { return fsCall('mtime', pathArg(p, 'mtime')); },
    read: function (p) { return fsCall('read', pathArg(p, 'read')); },
    // without a Buffer type, both forms return the text
    readFileSync: function (p) { return fsCall('read', pathArg(p, 'readFileSync')); },
    write: function (p, data) {
      const text = (data !== null && typeof data === 'object') ? JSON.stringify(data) : String(data === undefined ? '' : data);
      return fsCall('write', pathArg(p, 'write'), text);
    },
    append: function (p, data) { return fsCall('append', pathArg(p, 'append'), String(data === undefined ? '' : data)); },
    remove: function (p) { return fsCall('remove', pathArg(p, 'remove')); },
    list: function (p) { return fsCall('list', pathArg(p, 'list')); },
    listTree: function (p) { return fsCall('listTree', pathArg(p, 'listTree')); },
    makeDirectory: function (p) { return fsCall('makeDirectory', pathArg(p, 'makeDirectory')); },
    makeDirectoryRecursive: function (p) { return fsCall('makeDirectoryRecursive', pathArg(p, 'makeDirectoryRecursive')); },
    removeDirectory: function (p) { return fsCall('removeDirectory', pathArg(p, 'removeDirectory')); },
    removeDirectoryRecursive: function (p) { return fsCall('removeDirectoryRecursive', pathArg(p, 'removeDirectoryRecursive')); },
    copyFile: function (src, dst) { return fsCall('copyFile', pathArg(src, 'copyFile'), pathArg(dst, 'copyFile')); },
    move: function (src, dst) { return fsCall('move', pathArg(src, 'move'), pathArg(dst, 'move')); },
    getTempPath: function () { return fsCall('getTempPath'); },
    getTempFile: function (dir, create) { return fsCall('getTempFile', dir === undefined ? '' : String(dir), '', !!create); },
    home: function () { return fsCall('home'); },
  };
  fsModule.writeFileSync = fsModule.write;
  fsModule.existsSync = fsModule.exists;

  // `@arangodb/users`: user management over `/_api/user`, as arangosh's module.
  function userUrl(user, db, coll) {
    if (typeof user !== 'string' || user === '') {
      throw arangoError(ERRORS.ERROR_USER_INVALID_NAME.code, messageOf('ERROR_USER_INVALID_NAME'), 400);
    }
    let u = '/_api/user/' + enc(user);
    if (db !== undefined) { u += '/database/' + enc(db); }
    if (coll !== undefined) { u += '/' + enc(coll); }
    return u;
  }
  function userBody(user, passwd, active, extra, changePassword) {
    const b = {};
    if (user !== undefined) { b.user = user; }
    if (passwd !== undefined && passwd !== null) { b.passwd = passwd; }
    if (active !== undefined && active !== null) { b.active = active; }
    if (extra !== undefined && extra !== null) { b.extra = extra; }
    if (changePassword !== undefined && changePassword !== null) { b.changePassword = changePassword; }
    return b;
  }
  const usersModule = {
    save: function (user, passwd, active, extra, changePassword) {
      userUrl(user);
      return checkRequestResult(arango.POST('/_api/user', userBody(user, passwd, active, extra, changePassword)));
    },
    replace: function (user, passwd, active, extra, changePassword) {
      return checkRequestResult(arango.PUT(userUrl(user), userBody(undefined, passwd === undefined ? '' : passwd, active, extra, changePassword)));
    },
    update: function (user, passwd, active, extra, changePassword) {
      return checkRequestResult(arango.PATCH(userUrl(user), userBody(undefined, passwd, active, extra, changePassword)));
    },
    remove: function (user) { return checkRequestResult(arango.DELETE(userUrl(user))); },
    document: function (user) { return checkRequestResult(arango.GET(userUrl(user))); },
    exists: function (user) {
      try { usersModule.document(user); return true; } catch (e) {
        if (e instanceof ArangoError && e.errorNum === ERRORS.ERROR_USER_NOT_FOUND.code) { return false; }
        throw e;
      }
    },
    all: function () { return checkRequestResult(arango.GET('/_api/user')).result; },
    reload: function () { checkRequestResult(arango.GET('/_admin/auth/reload')); },
    grantDatabase: function (user, db, type) {
      return checkRequestResult(arango.PUT(userUrl(user, db), { grant: type === undefined ? 'rw' : type }));
    },
    revokeDatabase: function (user, db) { return checkRequestResult(arango.DELETE(userUrl(user, db))); },
    grantCollection: function (user, db, coll, type) {
      return checkRequestResult(arango.PUT(userUrl(user, db, coll), { grant: type === undefined ? 'rw' : type }));
    },
    revokeCollection: function (user, db, coll) { return checkRequestResult(arango.DELETE(userUrl(user, db, coll))); },
    // without a database: every database's level
    permission: function (user, db, coll) {
      const url = db === undefined ? userUrl(user) + '/database' : userUrl(user, db, coll);
      return checkRequestResult(arango.GET(url)).result;
    },
    permissionFull: function (user) { return checkRequestResult(arango.GET(userUrl(user) + '/database?full=true')).result; },
    currentUser: function () { return arango.connectedUser(); },
    isAuthActive: function () { return true; },
  };

  const builtins = {
    '@arangodb/users': () => usersModule,
    'fs': () => fsModule,
    'internal': () => internalModule,
    'console': () => consoleModule,
    '@arangodb': () => arangodbModule,
    '@arangodb/arangosh': () => ({ checkRequestResult: checkRequestResult }),
    '@arangodb/replication': replicationModule,
    '@arangodb/replication-common': () => replicationCommon,
    'process': () => processModule,
  };
  const moduleCache = Object.create(null);
  const processModule = {
    argv: [], env: internalModule.env,
    exit: internalModule.exit,
    stdout: { write: function (s) { output(String(s)); } },
  };

  function makeRequire(dir) {
    const req = function require(name) {
      name = String(name);
      if (builtins[name] !== undefined) {
        if (moduleCache[name] === undefined) { moduleCache[name] = { exports: builtins[name]() }; }
        return moduleCache[name].exports;
      }
      const relative = name.startsWith('./') || name.startsWith('../') || name.startsWith('/');
      // a bare path (`tests/js/lib/helper.inc`) is looked up from the current directory, as arangosh
      // does, then from the requiring file's directory
      const resolved = relative ? SYS.resolveModule(dir, name)
        : (SYS.resolveModule(SYS.cwd(), name) || (dir === SYS.cwd() ? null : SYS.resolveModule(dir, name)));
      if (resolved !== null || relative) {
        if (resolved === null) {
          throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, "cannot locate module '" + name + "'", 400);
        }
        if (moduleCache[resolved.path] !== undefined) { return moduleCache[resolved.path].exports; }
        const module = { exports: {}, id: resolved.path, filename: resolved.path };
        moduleCache[resolved.path] = module;
        try {
          if (/\.json$/.test(resolved.path)) {
            module.exports = JSON.parse(resolved.source);
          } else {
            const fn = SYS.compileModule(resolved.source, resolved.path);
            fn.call(module.exports, module, module.exports, makeRequire(resolved.dir), resolved.path, resolved.dir);
          }
        } catch (e) {
          delete moduleCache[resolved.path];
          throw e;
        }
        return module.exports;
      }
      throw arangoError(ERRORS.ERROR_BAD_PARAMETER.code, "cannot locate module '" + name + "'", 400);
    };
    return req;
  }

  // ---------------------------------------------------------------------------------------------
  // globals
  function define(name, value) {
    Object.defineProperty(global, name, { value: value, writable: true, enumerable: false, configurable: true });
  }
  define('global', global);
  define('GLOBAL', global);
  define('root', global);
  define('db', db);
  define('arango', arango);
  define('aql', aql);
  define('aqlQuery', aql);
  define('ArangoStatement', ArangoStatement);
  define('print', print);
  define('printf', printf);
  define('print_plain', printPlain);
  define('console', consoleModule);
  define('require', makeRequire(SYS.cwd()));
  define('__arangorepl_require', function (dir) { return makeRequire(dir === null ? SYS.cwd() : dir); });
  define('ARGUMENTS', SYS.arguments());
  define('process', processModule);
  define('start_pretty_print', function () { if (!state.pretty) { state.pretty = true; print('using pretty printing'); } });
  define('stop_pretty_print', function () { if (state.pretty) { state.pretty = false; print('disabled pretty printing'); } });
  define('start_color_print', function () { if (!state.colors) { state.colors = true; print('starting color printing'); } });
  define('stop_color_print', function () { if (state.colors) { state.colors = false; print('disabled color printing'); } });
  define('help', function () {
    print('arangorepl — an arangosh for Leader/Follower replication.\n' +
      '  db._collections(), db._create(name), db.<name>.insert({...}), db._useDatabase(name)\n' +
      '  var replication = require("@arangodb/replication");\n' +
      '  replication.setupReplication({endpoint, username, password, ...}), replication.sync({...}),\n' +
      '  replication.applier.state() / .start(tick) / .stop() / .properties({...})\n' +
      '  arango.GET(url), arango.PUT(url, body) ... for raw HTTP; exit or Ctrl-D to leave');
  });
  define('__arangorepl', {
    // the shell's hooks: REPL printing and uncaught-error text
    printResult: function (v) { global._last = v; if (v !== undefined) { print(v); } },
    errorText: function (e) {
      if (e instanceof ArangoError) { return e.toString(); }
      if (e instanceof Error) { return String(e.name) + ': ' + String(e.message); }
      try { return typeof e === 'string' ? e : stringOfArg(e, false, false); } catch (x) { return String(e); }
    },
    errorStack: function (e) { return (e instanceof Error && typeof e.stack === 'string') ? e.stack : ''; },
    isNonZeroNumber: function (v) { return typeof v === 'number' && v !== 0; },
    completions: function (path) {
      let obj = global;
      const parts = path.split('.');
      const last = parts.pop();
      for (const p of parts) {
        if (p === '') { return []; }
        try { obj = obj[p]; } catch (e) { return []; }
        if (obj === null || obj === undefined) { return []; }
      }
      const names = new Set();
      if (obj === db) {
        try { database._collections(); } catch (e) { /* offline */ }
        for (const k of Object.keys(database._cache)) { names.add(k); }
        for (const k of METHODS) { names.add(k); }
      } else {
        let o = obj;
        const isGlobal = obj === global;
        while (o !== null && o !== undefined && o !== Object.prototype) {
          for (const k of Object.getOwnPropertyNames(o)) {
            if (k === 'constructor' || (!isGlobal && k.startsWith('__'))) { continue; }
            names.add(k);
          }
          o = Object.getPrototypeOf(o);
        }
      }
      const out = [];
      for (const k of names) {
        if (!k.startsWith(last)) { continue; }
        let isFn = false;
        try { isFn = typeof obj[k] === 'function'; } catch (e) { /* getters may throw */ }
        out.push(k + (isFn ? '()' : ''));
      }
      out.sort((a, b) => { const x = a.toLowerCase(); const y = b.toLowerCase(); return x < y ? -1 : x > y ? 1 : 0; });
      return out;
    },
    flushCache: function () { try { database._flushCache(); } catch (e) { /* offline */ } },
  });
})(globalThis, globalThis.__SYS);
delete globalThis.__SYS;
