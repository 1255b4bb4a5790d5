/* Demo functional script: loaded only with consent to functional cookies. Remembers the
   visitor's language in the manifest's rmg_lang cookie. */
(function () {
  'use strict';
  var lang = document.documentElement.lang || 'en';
  document.cookie = 'rmg_lang=' + encodeURIComponent(lang) + '; Max-Age=31536000; Path=/; SameSite=Lax';
  window.charterDemo.report('functional', 'Functional script ran');
})();
