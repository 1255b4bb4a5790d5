/* Demo advertising script (Adreach Networks): loaded only with consent to advertising cookies.
   Sets the manifest's adr_uid cookie, which recognises a browser across sites. */
(function () {
  'use strict';
  var id = Math.random().toString(36).slice(2, 12);
  document.cookie = 'adr_uid=' + id + '; Max-Age=34128000; Path=/; SameSite=Lax';
  window.charterDemo.report('advertising', 'Advertising script ran');
})();
