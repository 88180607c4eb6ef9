"""One served night and one Chromium for every browser test (tests/dashboard/_night.py).

Registered here once, so every module of this folder uses the same session
fixtures: the nightly runs once a session, whichever module asks first.
"""

from tests.dashboard._night import chromium, signed_in, small_night

__all__ = ["chromium", "signed_in", "small_night"]
