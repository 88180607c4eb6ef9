"""Overview (a first frame; filled in below)."""

from __future__ import annotations

import dash
from dash import html

from dashboard.components import page_title

dash.register_page(__name__, path="/", name="Overview", order=0)


def layout(**_query: str) -> html.Div:
    """The page."""
    return html.Div([page_title("Overview")])
