"""The API's routers, one module per resource (STYLE.md item 8)."""

from api.routes import availability, health, orders

ROUTERS = (health.router, availability.router, orders.router)

__all__ = ["ROUTERS"]
