"""Sign-in, sign-out and the guard every dashboard request passes.

* ``GET /dashboard/login``: a form asking for a planner key.
* ``POST /dashboard/login``: the token is verified with :func:`ops.verify`; a
  store key or an unknown or revoked one is refused (401, the form again);
  a planner's gets the session cookie (:mod:`dashboard.session`): HttpOnly,
  SameSite=Strict, Path=/dashboard, Secure over https.
* ``POST /dashboard/logout``: clears the cookie, back to the login page.
* Everything else needs a session: a page (a GET asking for HTML) without one
  is redirected to the login page, anything else (Dash's XHRs, assets) is a
  401.
* Every state-changing request (not GET/HEAD/OPTIONS: Dash's callbacks are
  POSTs to ``_dash-update-component``, sign-in and sign-out too) must come
  from this origin: ``Sec-Fetch-Site`` ``same-origin`` (or ``none``, typed by
  the user) when the browser sends it, else an ``Origin`` equal to the
  request's own; neither header is a 403. With the SameSite=Strict cookie
  this is the CSRF defence: no token to plant in forms.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import flask
from werkzeug.wrappers import Response

from dashboard.session import COOKIE, CookieSigner, Planners
from ops import KeyIdentity

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = frozenset({"/login"})


def install(
    server: flask.Flask,
    *,
    signer: CookieSigner,
    planners: Planners,
    verify: Callable[[str], KeyIdentity | None],
) -> None:
    """Add the guard (first of the server's ``before_request`` hooks) and the two routes.

    Parameters
    ----------
    server
        The dashboard's Flask server, before Dash adds its own hooks.
    signer
        Makes and reads the session cookie.
    planners
        The planner behind a key id, re-checked in the store every minute.
    verify
        A bearer token's identity, or None (``ops.verify`` in a read transaction).
    """

    @server.before_request
    def guard() -> Response | None:
        request = flask.request
        if request.method not in _SAFE_METHODS and not _same_origin(request):
            return _refuse(403, "cross-site request refused")
        if request.path in _OPEN_PATHS:
            return None
        session = signer.read(request.cookies.get(COOKIE))
        who = planners.get(session.key_id) if session else None
        if who is None:
            if request.method == "GET" and _wants_page(request):
                target = request.full_path.rstrip("?")
                login = f"{request.script_root}/login?next={quote(request.script_root + target)}"
                response = flask.redirect(login, 303)
                if session is not None:  # a revoked key's cookie: clear it
                    _clear(response)
                return response
            return _refuse(401, "sign in with a planner key")
        flask.g.planner = who
        return None

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        request = flask.request
        target = _safe_next(request.values.get("next"), request.script_root)
        if request.method == "GET":
            return _page(target, None, 200)
        token = (request.form.get("token") or "").strip()
        who = verify(token) if token else None
        if who is None:
            return _page(target, "That key is unknown or revoked.", 401)
        if who.role != "planner":
            return _page(target, "That is a store key: the dashboard needs a planner key.", 403)
        planners.forget(who.key_id)
        response = flask.redirect(target, 303)
        response.set_cookie(
            COOKIE,
            signer.make(who.key_id),
            max_age=signer.max_age,
            path=request.script_root or "/",
            secure=request.is_secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    @server.route("/logout", methods=["POST"])
    def logout() -> Response:
        request = flask.request
        session = signer.read(request.cookies.get(COOKIE))
        if session is not None:
            planners.forget(session.key_id)
        response = flask.redirect(f"{request.script_root}/login", 303)
        _clear(response)
        return response


def _clear(response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=flask.request.script_root or "/",
        secure=flask.request.is_secure,
        httponly=True,
        samesite="Strict",
    )


def _same_origin(request: flask.Request) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return (parts.scheme, parts.netloc) == (request.scheme, request.host)


def _wants_page(request: flask.Request) -> bool:
    """A browser navigating (not Dash's fetches, not a script or a style sheet)."""
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None:
        return mode == "navigate"
    return not request.path.startswith("/_") and "text/html" in request.headers.get("Accept", "")


def _safe_next(value: str | None, root: str) -> str:
    """Where to go after signing in: a path of the dashboard, never another site."""
    home = f"{root}/"
    if not value or not value.startswith(home) or value.startswith("//") or "\\" in value:
        return home
    return value


def _refuse(status: int, detail: str) -> Response:
    response = flask.jsonify(
        {"type": "about:blank", "title": detail, "status": status, "detail": detail}
    )
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def _page(target: str, error: str | None, status: int) -> Response:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = _LOGIN.format(
        action=html.escape(flask.request.script_root + "/login"),
        next=html.escape(target),
        message=message,
    )
    response = flask.make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


_LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · partsflow planning</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; color: #1f2933; margin: 0; }}
main {{ max-width: 26rem; margin: 12vh auto; background: #fff; padding: 2rem 2.2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }}
p {{ color: #52606d; font-size: .92rem; }}
label {{ display: block; font-weight: 600; margin: 1.2rem 0 .4rem; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: .55rem;
                       border: 1px solid #cbd2d9; border-radius: 4px; font: inherit; }}
button {{ margin-top: 1rem; background: #1d4ed8; color: #fff; border: 0;
         padding: .55rem 1.2rem; border-radius: 4px; font: inherit; cursor: pointer; }}
.error {{ color: #b91c1c; font-weight: 600; }}
code {{ background: #eef1f4; padding: 0 .25rem; }}
</style></head>
<body><main>
<h1>partsflow planning</h1>
<p>Sign in with a planner key (<code>partsflow api-key create --role planner</code>).</p>
{message}
<form method="post" action="{action}">
<input type="hidden" name="next" value="{next}">
<label for="token">Planner key</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form>
</main></body></html>
"""
