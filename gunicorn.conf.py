"""gunicorn's settings for Kabinets. gunicorn reads ``./gunicorn.conf.py`` by default, and the
Procfile's web process and the tests start it in the repository's root; options on the
command line still win.

No ``Server`` header: gunicorn names itself on every answer and has no setting to stop it, so
the hook below leaves that line out of the headers it writes (HTTP/1.1, the only protocol
served here; the reverse proxy in front may add its own).
"""
import gunicorn.http.wsgi


def _without_server_header(default_headers):
    def headers(self):
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]
    headers.without_server = True
    return headers


def on_starting(server):
    """In the master, before any worker forks: no answer a worker writes names the server."""
    response = gunicorn.http.wsgi.Response
    if not getattr(response.default_headers, "without_server", False):
        response.default_headers = _without_server_header(response.default_headers)
