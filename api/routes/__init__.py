"""The API's routers, one module per resource (STYLE.md item 8)."""

from api.routes import (
    availability,
    docs,
    fitment,
    health,
    orders,
    plan,
    planner_orders,
    returns,
)

ROUTERS = (
    health.router,
    docs.router,
    availability.router,
    orders.router,
    returns.router,
    fitment.router,
    planner_orders.router,
    plan.router,
)

__all__ = ["ROUTERS"]
