"""How big a generated network is: the three named scales and their checks."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.errors import InputError


@dataclass(frozen=True)
class ScaleSpec:
    """The size of a synthetic network and of its order history.

    ``lines_per_store_day`` is the calibration target: the expected number of
    order lines (both channels, before cancellations and lost sales) per store
    and day over the whole history. ``n_suppliers``: how many suppliers the DC
    buys the catalogue's brands from.
    """

    name: str
    n_forward: int
    n_stores: int
    n_skus: int
    n_models: int
    days: int
    lines_per_store_day: float = 14.0
    models_per_store: tuple[int, int] = (20, 80)
    n_suppliers: int = 25

    def __post_init__(self) -> None:
        if self.n_forward < 1:
            raise InputError(f"scale {self.name}: n_forward must be >= 1, got {self.n_forward}")
        if self.n_stores < self.n_forward:
            raise InputError(
                f"scale {self.name}: n_stores must be >= n_forward, got {self.n_stores}"
            )
        if self.n_skus < 100:
            raise InputError(f"scale {self.name}: n_skus must be >= 100, got {self.n_skus}")
        if self.n_models < 10:
            raise InputError(f"scale {self.name}: n_models must be >= 10, got {self.n_models}")
        if not 28 <= self.days <= 3660:
            raise InputError(f"scale {self.name}: days must be in 28..3660, got {self.days}")
        if self.lines_per_store_day <= 0:
            raise InputError(
                f"scale {self.name}: lines_per_store_day must be > 0, "
                f"got {self.lines_per_store_day}"
            )
        if self.n_suppliers < 1:
            raise InputError(f"scale {self.name}: n_suppliers must be >= 1, got {self.n_suppliers}")
        low, high = self.models_per_store
        if not 1 <= low <= high:
            raise InputError(
                f"scale {self.name}: models_per_store must be 1 <= low <= high, "
                f"got {self.models_per_store}"
            )


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(
        "small", n_forward=2, n_stores=30, n_skus=500, n_models=60, days=180, n_suppliers=10
    ),
    "medium": ScaleSpec(
        "medium", n_forward=8, n_stores=300, n_skus=5_000, n_models=300, days=730, n_suppliers=25
    ),
    "large": ScaleSpec(
        "large",
        n_forward=30,
        n_stores=2_000,
        n_skus=100_000,
        n_models=1_500,
        days=365,
        n_suppliers=60,
    ),
}


def get_scale(scale: str | ScaleSpec) -> ScaleSpec:
    """The :class:`ScaleSpec` named ``scale`` (or ``scale`` itself if already one).

    Raises
    ------
    InputError
        If ``scale`` is not one of ``small``, ``medium``, ``large``.
    """
    if isinstance(scale, ScaleSpec):
        return scale
    try:
        return SCALES[scale]
    except (KeyError, TypeError):
        known = ", ".join(SCALES)
        raise InputError(f"unknown scale {scale!r}: expected one of {known}") from None
