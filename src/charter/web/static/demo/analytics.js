/* Demo analytics script (Tallyweb Analytics): loaded only with consent to analytics cookies.
   Sets the manifest's _tw_id cookie, which distinguishes visitors. */
(function () {
  'use strict';
  var id = Math.random().toString(36).slice(2, 12);
  document.cookie = '_tw_id=' + id + '; Max-Age=34128000; Path=/; SameSite=Lax';
  window.charterDemo.report('analytics', 'Analytics script ran');
})();
