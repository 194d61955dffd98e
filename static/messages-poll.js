/* Kabinets: no message polling while the tab is hidden (htmx 2 would poll anyway).
   A poller (data-poll) also listens for "visibilitychange", so it asks at once
   when the tab is shown again. No eval, no inline code: the CSP stays strict. */
document.addEventListener("htmx:beforeRequest", function (event) {
  if (document.hidden && event.target.hasAttribute("data-poll")) {
    event.preventDefault();
  }
});
