/*! Charter cookie banner (Apache-2.0)
 *
 * <script src="https://privacy.example.org/cookie-banner.js" data-brand="BRAND"
 *         [data-lang="de"] [data-api="https://privacy.example.org"]></script>
 *
 * Nothing optional runs before a choice: <script type="text/plain" data-charter-category="CAT">
 * (inline or with src; data-type="module" for another type) and elements with
 * data-charter-category + data-charter-src (iframes, images) are activated only for consented
 * categories; strictly necessary ones are never gated. Any element with
 * data-charter-action="open" reopens the banner.
 *
 * Global Privacy Control (navigator.globalPrivacyControl or Sec-GPC: 1): the sale and sharing
 * categories are off and locked. A returning visitor whose stored choice granted one of them is
 * not asked again: the script records the signal itself (method "gpc": the stored choice minus
 * those categories), rewrites the cookie, runs only what is left and says so in a dismissable
 * notice. If that cannot be recorded, the banner asks again and nothing optional runs.
 *
 * Accessibility: the banner is a non-modal dialog (aria-modal="false"): it asks for a choice
 * but does not hide the page from assistive technology, whose users can still read the page
 * (and the policy it links to) before choosing. While it is open, Tab and Shift+Tab cycle
 * through its controls, Escape closes it (a refusal), and focus then returns to where it was.
 * It lives in an open shadow root, styled by a constructed stylesheet (no inline style, so a
 * strict CSP needs no 'unsafe-inline'); every text is set with textContent, never as markup.
 * Initial focus goes to the first button, "Reject all", so that an accidental Enter refuses.
 *
 * IAB TCF v2.2 (brands with config.tcf): window.__tcfapi (ping, getTCData, addEventListener,
 * removeEventListener), the __tcfapiLocator frame and the postMessage protocol. The TC string
 * is written by the server and decoded here. Until the user has chosen, tcString is '' and no
 * signal is set: refusing a category also objects to its vendors' legitimate interests, so no
 * legitimate-interest signal is shown before the choice either.
 */
(function () {
  'use strict';
  var w = window, d = document, nav = navigator;
  var me = d.currentScript;
  if (!me || w.__charterCookieBanner) return;
  w.__charterCookieBanner = 1;

  var ds = me.dataset;
  var base = new URL(ds.api || me.src, location.href);
  var API = ds.api ? (base.origin + base.pathname).replace(/\/+$/, '') : base.origin;
  var BRAND = ds.brand || '';
  var TC_COOKIE = 'euconsent-v2';
  var NS = 'data-charter-';

  var cfg = null, S = {}, gpc = false, stored = null, granted = [];
  var required = { strictly_necessary: 1 }, active = {};
  var host, root, layer, settingsBtn, live, notice, dialog, errBox, prevFocus, isOpen = false, busy = false;
  var tc = '', tcm = null, evStatus = 'tcloaded', listeners = {}, nextId = 1, liveTimer;

  var domReady = new Promise(function (done) {
    if (d.readyState !== 'loading') done();
    else d.addEventListener('DOMContentLoaded', function () { done(); });
  });

  // -- cookies ----------------------------------------------------------------------------

  function getCookie(name) {
    var all = d.cookie ? d.cookie.split('; ') : [];
    for (var i = 0; i < all.length; i++) {
      var at = all[i].indexOf('=');
      if (all[i].slice(0, at) === name) return all[i].slice(at + 1);
    }
    return null;
  }

  function setCookie(name, value, maxAge) {
    d.cookie = name + '=' + value + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax' +
      (location.protocol === 'https:' ? '; Secure' : '');
  }

  // "1~<cookie id>~<config version>~<granted+categories>~<expiry epoch seconds>"
  function parseStored() {
    var value = cfg && getCookie(cfg.consent_cookie), p = value ? value.split('~') : [];
    if (p.length !== 5 || p[0] !== '1' || !/^[\w-]{16,64}$/.test(p[1])) return null;
    return { id: p[1], version: p[2], granted: p[3] ? p[3].split('+') : [], expires: +p[4] };
  }

  function category(key) {
    return cfg.categories.filter(function (c) { return c.key === key; })[0];
  }

  // A stored choice of this banner, not expired (and for a TCF brand, its TC string current).
  function isCurrent(s) {
    if (!s || s.version !== cfg.config_version || !(s.expires * 1000 > Date.now())) return false;
    if (!cfg.tcf) return true;
    var m = decodeSafe(getCookie(TC_COOKIE));
    return !!m && m.tcfPolicyVersion === cfg.tcf.tcf_policy_version &&
      m.vendorListVersion === cfg.tcf.vendor_list_version;
  }

  // A stored choice granting a sale or sharing category, which the GPC signal now overrules.
  function overruled(s) {
    return gpc && s.granted.some(function (k) { var c = category(k); return c && c.sale_or_sharing; });
  }

  // -- script gating -------------------------------------------------------------------------

  function allowed(key) {
    return !!required[key] || granted.indexOf(key) >= 0;
  }

  function activate() {
    if (!d.body) return;
    d.querySelectorAll('script[type="text/plain"][' + NS + 'category]').forEach(function (old) {
      var key = old.getAttribute(NS + 'category');
      if (!allowed(key)) return;
      active[key] = 1;
      var s = d.createElement('script');
      [].forEach.call(old.attributes, function (a) {
        if (a.name !== 'type' && a.name !== NS + 'category') s.setAttribute(a.name, a.value);
      });
      if (old.dataset.type) s.type = old.dataset.type;
      if (old.nonce) s.nonce = old.nonce;
      if (!old.hasAttribute('async')) s.async = false; // keep the page's order
      s.text = old.text;
      old.replaceWith(s);
    });
    d.querySelectorAll('[' + NS + 'src][' + NS + 'category]').forEach(function (el) {
      var key = el.getAttribute(NS + 'category');
      if (!allowed(key)) return;
      active[key] = 1;
      el.setAttribute('src', el.getAttribute(NS + 'src'));
      el.removeAttribute(NS + 'src');
    });
  }

  // -- the TC string (IAB TCF v2.2, "Consent string and vendor list formats") ------------------

  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  function bad() { throw new Error('bad TC string'); }

  function reader(text) {
    var bits = '', pos = 0, i, v;
    text = text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    if (!text) bad();
    for (i = 0; i < text.length; i++) {
      v = B64.indexOf(text.charAt(i));
      if (v < 0) bad();
      bits += (64 + v).toString(2).slice(1);
    }
    var r = {
      at: function (p) { pos = p; },
      u: function (n) {
        if (pos + n > bits.length) bad();
        var x = n ? parseInt(bits.substr(pos, n), 2) : 0;
        pos += n;
        return x;
      },
      ids: function (n) {
        var set = new Set();
        for (var k = 1; k <= n; k++) if (r.u(1)) set.add(k);
        return set;
      },
      letters: function () {
        var a = r.u(6), b = r.u(6);
        if (a > 25 || b > 25) bad();
        return String.fromCharCode(65 + a, 65 + b);
      },
      ranges: function (top) {
        var list = [], n = r.u(12), set = new Set(), high = 0;
        while (n--) {
          var isRange = r.u(1), start = r.u(16), end = isRange ? r.u(16) : start;
          if (start < 1 || end < start || end > top) bad();
          list.push([start, end]);
        }
        list.sort(function (x, y) { return x[0] - y[0]; });
        list.forEach(function (e) {
          for (var k = Math.max(e[0], high + 1); k <= e[1]; k++) set.add(k);
          high = Math.max(high, e[1]);
        });
        return set;
      },
      vendors: function () {
        var top = r.u(16);
        return r.u(1) ? r.ranges(top) : r.ids(top);
      }
    };
    return r;
  }

  function decodeTC(text) {
    var m = null, pub = null, disclosed = null;
    String(text).split('.').forEach(function (seg) {
      var r = reader(seg), type = r.u(3);
      if (type === 0) {
        r.at(0);
        if (m || r.u(6) !== 2) bad();
        m = {
          created: new Date(r.u(36) * 100), lastUpdated: new Date(r.u(36) * 100),
          cmpId: r.u(12), cmpVersion: r.u(12), consentScreen: r.u(6),
          consentLanguage: r.letters(), vendorListVersion: r.u(12), tcfPolicyVersion: r.u(6),
          isServiceSpecific: !!r.u(1), useNonStandardTexts: !!r.u(1),
          specialFeatureOptins: r.ids(12), purposeConsents: r.ids(24),
          purposeLegitimateInterests: r.ids(24), purposeOneTreatment: !!r.u(1),
          publisherCC: r.letters(), vendorConsents: r.vendors(),
          vendorLegitimateInterests: r.vendors(), restrictions: {}
        };
        for (var n = r.u(12); n--;) {
          var purpose = r.u(6), kind = r.u(2);
          if (purpose < 1 || purpose > 24 || kind > 2) bad();
          var into = m.restrictions[purpose] = m.restrictions[purpose] || {};
          r.ranges(65535).forEach(function (id) { into[id] = kind; });
        }
      } else if (type === 1) {
        disclosed = r.vendors();
      } else if (type === 3) {
        pub = { consents: r.ids(24), legitimateInterests: r.ids(24) };
        pub.custom = r.u(6);
        pub.customConsents = r.ids(pub.custom);
        pub.customLegitimateInterests = r.ids(pub.custom);
      } else if (type !== 2) {
        bad();
      }
    });
    if (!m) bad();
    m.disclosedVendors = disclosed;
    m.publisher = pub;
    return m;
  }

  function decodeSafe(text) {
    try { return text ? decodeTC(text) : null; } catch (e) { return null; }
  }

  // -- the CMP API (IAB TCF v2.2, "CMP API v2") ----------------------------------------------

  var stubQueue = null, ownStub = typeof w.__tcfapi !== 'function', locator = null;

  function upTo(n) {
    for (var list = [], i = 1; i <= n; i++) list.push(i);
    return list;
  }

  function idMap(set, keys, only) {
    var out = {};
    set = set || new Set();
    keys.forEach(function (k) { out[k] = set.has(+k); });
    if (!only) set.forEach(function (k) { out[k] = true; });
    return out;
  }

  function tcData(listenerId, vendorIds) {
    var t = cfg.tcf, m = tcm || {}, p = m.publisher || {}, only = Array.isArray(vendorIds);
    var vendors = only ? vendorIds : t.vendors.map(function (v) { return v.id; });
    return {
      tcString: tc, tcfPolicyVersion: t.tcf_policy_version, cmpId: t.cmp_id,
      cmpVersion: t.cmp_version, gdprApplies: true, eventStatus: evStatus, cmpStatus: 'loaded',
      listenerId: listenerId, isServiceSpecific: m.isServiceSpecific !== false,
      useNonStandardTexts: !!m.useNonStandardTexts, publisherCC: m.publisherCC || t.publisher_country,
      purposeOneTreatment: !!m.purposeOneTreatment,
      purpose: {
        consents: idMap(m.purposeConsents, upTo(11)),
        legitimateInterests: idMap(m.purposeLegitimateInterests, upTo(11))
      },
      vendor: {
        consents: idMap(m.vendorConsents, vendors, only),
        legitimateInterests: idMap(m.vendorLegitimateInterests, vendors, only)
      },
      specialFeatureOptins: idMap(m.specialFeatureOptins, upTo(2)),
      publisher: {
        consents: idMap(p.consents, upTo(11)),
        legitimateInterests: idMap(p.legitimateInterests, upTo(11)),
        customPurpose: {
          consents: idMap(p.customConsents, upTo(p.custom || 0)),
          legitimateInterests: idMap(p.customLegitimateInterests, upTo(p.custom || 0))
        },
        restrictions: m.restrictions || {}
      }
    };
  }

  function ping() {
    var t = cfg.tcf;
    return {
      gdprApplies: true, cmpLoaded: true, cmpStatus: 'loaded',
      displayStatus: isOpen ? 'visible' : 'hidden', apiVersion: '2.2',
      cmpVersion: t.cmp_version, cmpId: t.cmp_id, gvlVersion: t.vendor_list_version,
      tcfPolicyVersion: t.tcf_policy_version
    };
  }

  function tcfapi(command, version, callback, parameter) {
    if (typeof callback !== 'function') return;
    if (command === 'ping') return callback(ping(), true);
    if (version && version != 2) return callback(null, false);
    if (command === 'getTCData') return callback(tcData(undefined, parameter), true);
    if (command === 'addEventListener') {
      var id = nextId++;
      listeners[id] = callback;
      return callback(tcData(id), true);
    }
    if (command === 'removeEventListener') {
      var known = Object.prototype.hasOwnProperty.call(listeners, parameter);
      delete listeners[parameter];
      return callback(known);
    }
    callback(null, false);
  }

  function notify() {
    if (!cfg || !cfg.tcf) return;
    Object.keys(listeners).forEach(function (id) {
      try { listeners[id](tcData(+id), true); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function onMessage(event) {
    var data = event.data, json = typeof data === 'string';
    if (json) { try { data = JSON.parse(data); } catch (e) { return; } }
    var call = data && data.__tcfapiCall;
    if (!call || typeof call !== 'object' || !event.source) return;
    w.__tcfapi(call.command, call.version, function (value, success) {
      var reply = { __tcfapiReturn: { returnValue: value, success: success, callId: call.callId } };
      event.source.postMessage(json ? JSON.stringify(reply) : reply, '*');
    }, call.parameter);
  }

  function addLocator() {
    if (w.frames.__tcfapiLocator || !d.body) return;
    locator = d.createElement('iframe');
    locator.name = '__tcfapiLocator';
    locator.style.display = 'none';
    locator.setAttribute('aria-hidden', 'true');
    locator.tabIndex = -1;
    d.body.appendChild(locator);
  }

  // A queue until the configuration says whether this brand uses the TCF at all.
  if (ownStub) {
    stubQueue = [];
    var stub = function (command, version, callback) {
      if (command === 'ping' && typeof callback === 'function') {
        callback({ gdprApplies: undefined, cmpLoaded: false, cmpStatus: 'stub', apiVersion: '2.2' }, true);
      } else {
        stubQueue.push(arguments);
      }
    };
    stub.a = stubQueue;
    w.__tcfapi = stub;
    w.addEventListener('message', onMessage);
    domReady.then(function () { if (!cfg || cfg.tcf) addLocator(); });
  }

  function setUpTcf() {
    var queue = ownStub ? stubQueue : (w.__tcfapi && w.__tcfapi.a) || [];
    if (cfg.tcf) {
      w.__tcfapi = tcfapi;
      queue.splice(0).forEach(function (args) { tcfapi.apply(null, args); });
    } else if (ownStub) {
      try { delete w.__tcfapi; } catch (e) { w.__tcfapi = undefined; }
      w.removeEventListener('message', onMessage);
      if (locator) locator.remove();
    }
  }

  // -- the dialog ------------------------------------------------------------------------------

  var CSS = [
    ':host{all:initial}',
    '*{box-sizing:border-box}',
    '[hidden]{display:none!important}',
    '.root{font:400 max(16px,1rem)/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a}',
    '.dlg{position:fixed;z-index:2147483646;left:0;right:0;bottom:.5em;margin:0 auto;width:min(44em,calc(100vw - 1em));max-height:calc(100vh - 1em);overflow:auto;background:#fff;color:#1a1a1a;border:2px solid #1a1a1a;border-radius:.5em;box-shadow:0 .5em 2em rgba(0,0,0,.35);padding:1em 1.25em}',
    'h2{font-size:1.25em;line-height:1.3;margin:0 2.2em .5em 0}',
    'h3{font-size:1.05em;margin:1em 0 .3em}',
    'p{margin:0 0 .6em}',
    'a{color:#1d4ed8;text-decoration:underline}',
    'button{font:inherit;cursor:pointer}',
    '.links a{margin-right:1em;display:inline-block}',
    '.note{border-left:4px solid #1d4ed8;background:#eef2ff;padding:.4em .75em}',
    '.err{color:#b3261e;font-weight:600}',
    '.acts{display:grid;grid-template-columns:repeat(auto-fit,minmax(9em,1fr));gap:.5em;margin-top:.75em}',
    '.btn{background:#1d4ed8;color:#fff;border:2px solid #1d4ed8;border-radius:.3em;padding:.55em 1em;font-weight:600;min-height:44px;line-height:1.2}',
    '.btn:hover{background:#1e40af;border-color:#1e40af}',
    ':focus-visible{outline:3px solid #1d4ed8;outline-offset:2px;box-shadow:0 0 0 2px #fff}',
    '.x{position:absolute;top:.3em;right:.3em;width:44px;height:44px;border:0;background:none;color:#1a1a1a;font-size:1.6em;line-height:1;border-radius:.2em}',
    '.cats{list-style:none;margin:.5em 0;padding:0}',
    '.cats>li{border-top:1px solid #c4c4c4;padding:.6em 0}',
    '.row{display:flex;align-items:center;gap:.6em;flex-wrap:wrap}',
    '.row label{font-weight:600}',
    'input[type=checkbox]{width:1.3em;height:1.3em;margin:0;accent-color:#1d4ed8}',
    '.tag{display:inline-block;font-size:.8em;border:1px solid #4a4a4a;border-radius:.3em;padding:0 .4em;margin-left:.4em;color:#333;font-weight:400}',
    'summary{cursor:pointer;color:#1d4ed8;min-height:24px}',
    '.tw{overflow-x:auto;margin-top:.4em}',
    'table{border-collapse:collapse;width:100%;font-size:.875em}',
    'th,td{text-align:left;vertical-align:top;padding:.3em .4em;border-bottom:1px solid #c4c4c4;overflow-wrap:anywhere}',
    'code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.95em}',
    '.vendors ul{margin:.2em 0 .6em;padding-left:1.2em}',
    '.settings{position:fixed;z-index:2147483645;left:.75em;bottom:.75em;font-size:.875em;box-shadow:0 .2em .8em rgba(0,0,0,.3)}',
    '.live{position:fixed;z-index:2147483646;left:.75em;bottom:4.5em;max-width:calc(100vw - 1.5em);background:#1a1a1a;color:#fff;border-radius:.3em;padding:.5em .9em}',
    '.live:empty{width:1px;height:1px;padding:0;overflow:hidden;clip-path:inset(50%)}',
    '.notice{position:fixed;z-index:2147483646;left:.75em;bottom:4.5em;max-width:min(36em,calc(100vw - 1.5em));background:#eef2ff;color:#1a1a1a;border:2px solid #1d4ed8;border-radius:.3em;padding:.5em 3em .5em .9em;min-height:3.4em}',
    '.notice p{margin:0}',
    '@media (min-height:32em){.more .acts{position:sticky;bottom:-1em;background:#fff;margin:.75em 0 -1em;padding:.5em 0 1em}}',
    '@media print{.dlg,.settings,.live,.notice{display:none}}'
  ].join('\n');

  function h(tag, attrs, kids) {
    var el = d.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === 'text') el.textContent = v;
      else if (k === 'hidden') el.hidden = true;
      else el.setAttribute(k, v);
    });
    (kids || []).forEach(function (kid) { if (kid || kid === 0) el.append(kid); });
    return el;
  }

  function button(action, text, cls) {
    var attrs = { type: 'button', 'class': cls || 'btn', text: text };
    attrs[NS + 'action'] = action;
    return h('button', attrs);
  }

  function link(href, text) {
    var url = new URL(href, API + '/');
    return h('a', { href: /^https?:$/.test(url.protocol) ? url.href : API + '/', text: text });
  }

  function mount() {
    host = d.createElement('charter-consent');
    root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets && w.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h('style', { text: CSS }));
    }
    layer = h('div', { 'class': 'root' });
    settingsBtn = button('open', S.settings, 'btn settings');
    settingsBtn.hidden = true;
    live = h('div', { 'class': 'live', role: 'status', 'aria-live': 'polite' });
    root.append(layer);
    root.addEventListener('click', onClick);
    root.addEventListener('keydown', onKey);
    d.body.appendChild(host);
  }

  function relabel() {
    layer.lang = cfg.language;
    settingsBtn.textContent = S.settings;
    if (!settingsBtn.isConnected) layer.append(settingsBtn, live);
  }

  function cookieTable(cookies) {
    var head = [S.col_cookie, S.col_vendor, S.col_duration, S.col_purpose].map(function (t) {
      return h('th', { scope: 'col', text: t });
    });
    return h('div', { 'class': 'tw' }, [h('table', null, [
      h('thead', null, [h('tr', null, head)]),
      h('tbody', null, cookies.map(function (c) {
        return h('tr', null, [
          h('td', null, [h('code', { text: c.name }), !c.first_party && h('span', { 'class': 'tag', text: S.third_party })]),
          h('td', { text: c.vendor }), h('td', { text: c.duration }), h('td', { text: c.description })
        ]);
      }))
    ])]);
  }

  function categoryList() {
    return h('ul', { 'class': 'cats' }, cfg.categories.map(function (c, i) {
      var id = 'cb-c' + i, locked = gpc && c.sale_or_sharing && !c.required;
      var attrs = { type: 'checkbox', id: id, 'aria-describedby': id + 'd' + (locked ? ' cb-gpc' : '') };
      attrs[NS + 'toggle'] = c.key;
      var box = h('input', attrs);
      box.checked = c.required || (!locked && granted.indexOf(c.key) >= 0);
      box.disabled = c.required || locked;
      return h('li', null, [
        h('div', { 'class': 'row' }, [
          box, h('label', { 'for': id, text: c.name }),
          c.required && h('span', { 'class': 'tag', text: S.always_on }),
          locked && h('span', { 'class': 'tag', title: 'Global Privacy Control', text: 'GPC' })
        ]),
        h('p', { id: id + 'd', text: c.description }),
        c.cookies.length > 0 && h('details', null, [
          h('summary', { text: S.details + ' (' + c.cookies.length + ')' }), cookieTable(c.cookies)
        ])
      ]);
    }));
  }

  function vendorList() {
    return h('section', { 'class': 'vendors', 'aria-labelledby': 'cb-v' }, [
      h('h3', { id: 'cb-v', text: S.tcf_vendors }),
      h('ul', null, cfg.tcf.vendors.map(function (v) {
        var c = category(v.category), li = v.legitimate_interests || [];
        var purposes = (v.purposes || []).concat(li.filter(function (p) { return v.purposes.indexOf(p) < 0; }));
        var items = purposes.sort(function (a, b) { return a - b; }).map(function (p) {
          var text = S['tcf_purpose_' + p] || String(p);
          return h('li', { text: li.indexOf(p) >= 0 ? text + ' (' + S.legitimate_interest + ')' : text });
        }).concat((v.special_features || []).map(function (f) {
          return h('li', { text: S['tcf_special_feature_' + f] || String(f) });
        }));
        return h('li', null, [h('strong', { text: v.name }), c ? ' · ' + c.name : '', h('ul', null, items)]);
      }))
    ]);
  }

  function render(detailed) {
    var tcf = cfg.tcf;
    errBox = h('p', { 'class': 'err', role: 'alert', hidden: true });
    dialog = h('div', {
      'class': detailed ? 'dlg more' : 'dlg', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'cb-t',
      'aria-describedby': 'cb-i', lang: cfg.language
    }, [
      h('h2', { id: 'cb-t', text: S.title }),
      h('p', { id: 'cb-i', text: S.intro }),
      gpc && h('p', { id: 'cb-gpc', 'class': 'note', text: S.gpc_honoured }),
      tcf && h('p', { text: (S.tcf_intro || '').replace('{count}', tcf.vendors.length) }),
      h('p', { 'class': 'links' }, [link(cfg.links.policy, S.policy), link(cfg.links.privacy_center, S.privacy_center)]),
      detailed && categoryList(),
      detailed && tcf && vendorList(),
      errBox,
      h('div', { 'class': 'acts' }, [
        button('reject-all', S.reject_all), button('accept-all', S.accept_all),
        detailed ? button('save', S.save) : button('customize', S.customize)
      ]),
      button('close', '\u00d7', 'x')
    ]);
    var close = dialog.lastChild;
    close.setAttribute('aria-label', S.close);
    close.title = S.close;
    var old = layer.querySelector('.dlg');
    if (old) old.replaceWith(dialog); else layer.prepend(dialog);
  }

  function focusables() {
    return [].filter.call(
      dialog.querySelectorAll('a[href],button:not([disabled]),input:not([disabled]),summary'),
      function (el) { return el.getClientRects().length > 0; }
    );
  }

  function open(detailed) {
    if (!cfg) return;
    var shown = isOpen;
    if (!shown) prevFocus = (root.activeElement) || d.activeElement;
    isOpen = true;
    settingsBtn.hidden = true;
    render(detailed);
    var first = detailed ? dialog.querySelector('input:not([disabled])') : null;
    (first || dialog.querySelector('.acts button')).focus();
    if (!shown && cfg.tcf) {
      evStatus = 'cmpuishown';
      notify();
    }
  }

  function close() {
    isOpen = false;
    if (dialog) dialog.remove();
    dialog = null;
    settingsBtn.hidden = false;
    var back = prevFocus;
    prevFocus = null;
    if (!back || !back.isConnected || back === d.body || back === host || back === d.documentElement) {
      back = settingsBtn;
    }
    back.focus();
  }

  function announce(text) {
    clearTimeout(liveTimer);
    live.textContent = '';
    setTimeout(function () {
      live.textContent = text;
      liveTimer = setTimeout(function () { live.textContent = ''; }, 6000);
    }, 60);
  }

  // A short note that stays until dismissed (not announced then cleared: it reports what was
  // done in the visitor's name, without a click).
  function showNotice(text) {
    dismiss();
    var x = button('dismiss', '\u00d7', 'x');
    x.setAttribute('aria-label', S.close);
    x.title = S.close;
    notice = h('div', { 'class': 'notice', role: 'status', lang: cfg.language }, [h('p', { text: text }), x]);
    layer.append(notice);
  }

  function dismiss() {
    if (notice) notice.remove();
    notice = null;
  }

  function showError() {
    if (!errBox) return;
    errBox.textContent = S.error;
    errBox.hidden = false;
  }

  function onClick(event) {
    var el = event.target.closest && event.target.closest('[' + NS + 'action]');
    if (!el || busy) return;
    var action = el.getAttribute(NS + 'action');
    if (action === 'open') open(false);
    else if (action === 'customize') open(true);
    else if (action === 'accept-all') choose('accept_all');
    else if (action === 'reject-all') choose('reject_all');
    else if (action === 'save') choose('customize');
    else if (action === 'close') choose('close');
    else if (action === 'dismiss') dismiss();
  }

  function onKey(event) {
    if (!isOpen || !dialog || !dialog.contains(event.target)) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      if (!busy) choose('close');
    } else if (event.key === 'Tab') {
      var list = focusables(), first = list[0], last = list[list.length - 1], now = root.activeElement;
      if (event.shiftKey && (now === first || !dialog.contains(now))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && now === last) {
        event.preventDefault();
        first.focus();
      }
    }
  }

  // -- a choice --------------------------------------------------------------------------------

  function loadConfig(fresh) {
    var wanted = [ds.lang, d.documentElement.lang].concat(nav.languages || [nav.language]);
    var langs = [];
    wanted.forEach(function (tag) {
      tag = (tag || '').trim();
      if (/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(tag) && langs.indexOf(tag) < 0 &&
          langs.concat(tag).join(',').length <= 64) langs.push(tag);
    });
    var url = API + '/v1/cookie-banner/' + encodeURIComponent(BRAND) + '?lang=' + encodeURIComponent(langs.join(','));
    return fetch(url, { credentials: 'omit', cache: fresh ? 'no-cache' : 'default' }).then(function (r) {
      if (!r.ok) throw new Error('cookie banner configuration: HTTP ' + r.status);
      return r.json();
    });
  }

  function configure(config) {
    cfg = config;
    S = cfg.strings || {};
    gpc = nav.globalPrivacyControl === true || !!cfg.gpc;
    required = {};
    cfg.categories.forEach(function (c) { if (c.required) required[c.key] = 1; });
    stored = parseStored();
    relabel();
  }

  function post(body) {
    return fetch(API + '/v1/cookie-consent', {
      method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 409) {
        return loadConfig(true).then(function (config) {
          configure(config); // the banner changed: show the current one
          open(false);
        });
      }
      if (r.status !== 201) throw new Error('cookie consent: HTTP ' + r.status);
      return r.json().then(function (res) { saved(res, body.method === 'gpc'); });
    });
  }

  function choose(method) {
    busy = true;
    var body = {
      brand: BRAND, method: method, cookie_id: stored ? stored.id : null,
      language: cfg.language, config_version: cfg.config_version,
      text_version: cfg.text_version, gpc: gpc
    };
    if (method === 'customize') {
      body.choices = {};
      dialog.querySelectorAll('[' + NS + 'toggle]').forEach(function (box) {
        var key = box.getAttribute(NS + 'toggle');
        if (!required[key]) body.choices[key] = box.checked && !box.disabled;
      });
    }
    post(body).catch(function (e) {
      showError();
      if (w.console) console.warn('[charter]', e);
    }).then(function () { busy = false; });
  }

  // GPC overrules the stored choice: record that without asking (CCPA regulations 7025(c)(1):
  // no further action of the visitor), keeping the rest of the choice as it was.
  function honourSignal() {
    busy = true;
    var choices = {};
    cfg.categories.forEach(function (c) {
      if (!c.required) choices[c.key] = !c.sale_or_sharing && stored.granted.indexOf(c.key) >= 0;
    });
    post({
      brand: BRAND, method: 'gpc', choices: choices, cookie_id: stored.id,
      stored_expires: stored.expires, language: cfg.language, config_version: cfg.config_version,
      text_version: cfg.text_version, gpc: true
    }).catch(function (e) {
      if (w.console) console.warn('[charter]', e);
      open(false); // not recorded: ask, as without the signal; nothing optional has run
    }).then(function () { busy = false; });
  }

  function saved(res, bySignal) {
    var cookie = res.cookie, choices = res.choices || {};
    setCookie(cookie.name, cookie.value, cookie.max_age);
    if (cfg.tcf && res.tc_string) setCookie(TC_COOKIE, res.tc_string, cookie.max_age);
    stored = parseStored() || { id: res.cookie_id, granted: [] };
    granted = Object.keys(choices).filter(function (k) { return choices[k]; });
    var withdrawn = Object.keys(active).some(function (k) { return !allowed(k); });
    cfg.categories.forEach(function (c) {
      if (c.required || choices[c.key]) return;
      c.cookies.forEach(function (ck) {
        if (getCookie(ck.name) !== null) setCookie(ck.name, '', 0);
      });
    });
    if (cfg.tcf) {
      tc = res.tc_string || '';
      tcm = decodeSafe(tc);
      evStatus = bySignal ? 'tcloaded' : 'useractioncomplete'; // the signal is no user action
    }
    if (isOpen) close(); else settingsBtn.hidden = false;
    notify();
    if (withdrawn) {
      // Scripts that already ran cannot be un-run: start the page again without them.
      location.reload();
      return;
    }
    if (bySignal) showNotice(S.gpc_honoured); else announce(S.saved);
    activate();
  }

  // -- start -----------------------------------------------------------------------------------

  d.addEventListener('click', function (event) {
    var el = event.target.closest && event.target.closest('[' + NS + 'action="open"]');
    if (!el || !cfg) return;
    event.preventDefault();
    if (!busy) open(false);
  });

  domReady.then(activate); // strictly necessary scripts are never gated

  Promise.all([loadConfig(false), domReady]).then(function (results) {
    mount();
    configure(results[0]);
    activate();
    if (isCurrent(stored) && overruled(stored)) {
      honourSignal();
    } else if (isCurrent(stored)) {
      granted = stored.granted.filter(function (k) { var c = category(k); return c && !c.required; });
      if (cfg.tcf) {
        tc = getCookie(TC_COOKIE);
        tcm = decodeSafe(tc);
        evStatus = 'tcloaded';
      }
      settingsBtn.hidden = false;
      activate();
    } else {
      open(false);
    }
    setUpTcf(); // after the status is known: queued listeners hear it once, on registration
    new MutationObserver(function (records) {
      if (records.some(function (r) { return r.addedNodes.length; })) activate();
    }).observe(d.documentElement, { childList: true, subtree: true });
  }).catch(function (e) {
    if (w.console) console.error('[charter] cookie banner:', e);
  });
})();
