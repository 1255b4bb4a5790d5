/* The demo page's own (strictly necessary) script: records which optional scripts ran. */
(function () {
  'use strict';
  var ran = [];

  function show(text) {
    var list = document.getElementById('charter-demo-status');
    var none = list.querySelector('.none');
    if (none) none.remove();
    var item = document.createElement('li');
    item.textContent = text;
    list.appendChild(item);
  }

  window.charterDemo = {
    ran: ran,
    // An optional script calls this once it has run: report(category, "Analytics script ran").
    report: function (category, text) {
      ran.push(category);
      if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', function () { show(text); });
      } else {
        show(text);
      }
    }
  };
})();
