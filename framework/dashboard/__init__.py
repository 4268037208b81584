"""The live dashboard: a read-only page on 127.0.0.1 fed over a WebSocket.

* :mod:`.state`: :class:`~.state.StateSampler`, the session's state as a JSON-able dict
  (what the page and the terminal view show), sampled by the environment;
* :mod:`.server`: :class:`~.server.DashboardServer`, Starlette + uvicorn in a thread;
* ``page.html``: the page (inline JS and CSS, no build step, no external resource);
* :mod:`.capture`: :class:`~.capture.Capture`, PNGs from headless Chromium.

Sessions attach all of it through :class:`framework.environments.views.SessionViews`.
"""
