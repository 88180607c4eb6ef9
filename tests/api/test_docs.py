"""/docs works offline: Swagger UI's script, stylesheet and icon come from the app itself."""

from __future__ import annotations

import re

from tests.api.conftest import SQLITE_ONLY, Api

# /docs and its assets never reach the operational store: one backend says it all.
pytestmark = SQLITE_ONLY


def test_docs_reference_only_local_assets_and_they_are_served(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and "/openapi.json" in urls
    assert [u for u in urls if "://" in u or u.startswith("//")] == []
    assets = [u for u in urls if u.startswith("/static/")]
    assert {u.rsplit("/", 1)[-1] for u in assets} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    }
    for url in assets:
        served = api.client.get(url)
        assert served.status_code == 200 and len(served.content) > 500, url
    assert '"validatorUrl": null' in page.text  # no call to validator.swagger.io


def test_redoc_is_not_served(api: Api) -> None:
    assert api.client.get("/redoc").status_code == 404
