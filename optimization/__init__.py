"""Pure optimisation: frames and frozen dataclasses in, frames and dataclasses out; no IO.

Sub-domains: ``replenishment`` (service, policy, unit fill, allocation, the night's plan),
``routing`` (the VRPTW solver and the DC line-haul), ``delivery`` (30-minute dispatch, day
replay, store coverage) and ``evaluation`` (simulation, replay, frontier).
"""
