"""The synthetic parts network and its order history (``partsflow generate``)."""

from pipelines.generate.generator import DEFAULT_END, GenerationSummary, generate
from pipelines.generate.scales import SCALES, ScaleSpec, get_scale

__all__ = ["DEFAULT_END", "SCALES", "GenerationSummary", "ScaleSpec", "generate", "get_scale"]
