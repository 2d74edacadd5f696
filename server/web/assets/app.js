// app.js: the little behaviour cupd's pages have. Plain JavaScript, no build
// step, loaded from /assets/ with `defer` (the CSP forbids inline script).
// Every page works without it; it only smooths the edges.
'use strict';

(function () {
	// A form submits once: a second click while the first is on its way
	// would post twice (e.g. two approvals). Buttons are not disabled, since a
	// disabled submitter's name=value would be left out of the post.
	document.addEventListener('submit', function (ev) {
		var form = ev.target;
		if (form.dataset.submitted === '1') {
			ev.preventDefault();
			return;
		}
		var ask = ev.submitter && ev.submitter.getAttribute('data-confirm');
		if (ask && !window.confirm(ask)) {
			ev.preventDefault();
			return;
		}
		form.dataset.submitted = '1';
		form.setAttribute('aria-busy', 'true');
	});

	// Going back to a page from the browser's cache re-enables its forms.
	window.addEventListener('pageshow', function () {
		document.querySelectorAll('form[data-submitted]').forEach(function (f) {
			delete f.dataset.submitted;
			f.removeAttribute('aria-busy');
		});
	});

	// <button data-copy="#id"> copies that element's text (secrets shown once).
	document.addEventListener('click', function (ev) {
		var btn = ev.target.closest && ev.target.closest('[data-copy]');
		if (!btn)
			return;
		var el = document.querySelector(btn.getAttribute('data-copy'));
		if (!el || !navigator.clipboard)
			return;
		navigator.clipboard.writeText(el.textContent.trim()).then(function () {
			var was = btn.textContent;
			btn.textContent = 'Copied';
			setTimeout(function () { btn.textContent = was; }, 1500);
		});
	});

	// Put the cursor where the person will type first.
	var first = document.querySelector('[data-autofocus]');
	if (first)
		first.focus();
})();

// Settings pages (web/settings_*.c).
(function () {
	// A page that shows a new secret once is the answer to a POST. Point this
	// history entry at the list instead, so reloading shows the list (a GET)
	// rather than asking to post the form again; the secret is gone for good.
	var marker = document.querySelector('[data-replace-url]');
	if (!marker)
		return;
	var list = marker.getAttribute('data-replace-url');
	if (window.history && history.replaceState)
		history.replaceState(null, '', list);
	// Leaving the page drops the secret from it, so the back/forward cache
	// cannot bring it back; a page restored from that cache goes to the list.
	window.addEventListener('pagehide', function () {
		document.querySelectorAll('[data-once]').forEach(function (el) { el.remove(); });
	});
	window.addEventListener('pageshow', function (ev) {
		if (ev.persisted)
			location.replace(list);
	});
})();
