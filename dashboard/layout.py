"""The frame around every page: the nav bar (pages, the planner, sign-out) and the page.

The nav lists the registered pages by ``order``; a page registered with
``nav=False`` (a detail page reached by a link, like the SKU drill-down) is
left out of it.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboard.context import signed_in


def shell() -> html.Div:
    """The app's layout, built per request (it names the signed-in planner)."""
    who = signed_in()
    root = dash.get_relative_path("/")
    pages = sorted(
        (page for page in dash.page_registry.values() if page.get("nav", True)),
        key=lambda page: (page.get("order") or 0, page["name"]),
    )
    links = [
        dcc.Link(page["name"], href=page["relative_path"], className="pf-nav-link")
        for page in pages
    ]
    account: list[dash.development.base_component.Component] = []
    if who is not None:
        account = [
            html.Span(who.name, className="pf-planner", id="pf-planner"),
            html.Form(
                html.Button("Sign out", type="submit", className="pf-signout"),
                method="post",
                action=f"{root}logout",
            ),
        ]
    return html.Div(
        [
            html.Header(
                [
                    dcc.Link("partsflow planning", href=root, className="pf-brand"),
                    html.Nav(links, className="pf-nav"),
                    html.Div(account, className="pf-account"),
                ],
                className="pf-header",
            ),
            html.Main(dash.page_container, className="pf-main"),
        ],
        className="pf-app",
    )
