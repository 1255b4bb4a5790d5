/* Demo social script (Chirpbook): loaded only with consent to social cookies. Sets the
   manifest's cb_browser cookie and reveals the social widget. */
(function () {
  'use strict';
  var id = Math.random().toString(36).slice(2, 12);
  document.cookie = 'cb_browser=' + id + '; Max-Age=34128000; Path=/; SameSite=Lax';
  function reveal() {
    var widget = document.getElementById('social-widget');
    if (widget) widget.classList.add('live');
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', reveal);
  else reveal();
  window.charterDemo.report('social', 'Social script ran');
})();
