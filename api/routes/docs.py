"""``/docs``: Swagger UI served from the app itself, so it works with no internet.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN;
planners and workshop systems may sit on a closed network (API.md: every
asset is served locally). The two files of ``swagger-ui-dist`` 5.36.0 (npm,
Apache-2.0; licence files beside them) ship as package data under
``api/static/swagger-ui/`` and are served at ``/static/swagger-ui/``. The
online spec validator badge is switched off: it would call
validator.swagger.io.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
ASSETS_URL = "/static/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    """The interactive API reference over ``/openapi.json``, from local assets only."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="partsflow API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


def mount_assets(app: FastAPI) -> None:
    """Serve Swagger UI's files under :data:`ASSETS_URL` (no key, like ``/docs``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="swagger-ui")
