"""The Laplace mechanisms of OpenDP, adding noise to released counts and sums (differential
privacy): shared by the statistics releases (``charter.services.statistics``) and the published
survey results (``charter.services.surveys``).

Apart from either use case because both release through the same mechanisms and neither should
depend on the other for it. The noise scale is the caller's (L1 sensitivity / epsilon,
``charter.domain.release.noise_scale``); OpenDP is imported on first use, as it is slow to load.
"""

from __future__ import annotations


def laplace_int(values: list[int], scale: float) -> list[int]:
    """Each value plus discrete Laplace noise of ``scale`` (OpenDP)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
    )
    return [int(v) for v in measurement(values)]


def laplace_float(values: list[float], scale: float) -> list[float]:
    """Each value plus Laplace noise of ``scale`` (OpenDP, floating-point safe)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.l1_distance(T=float),
        scale=scale,
    )
    return [float(v) for v in measurement([float(v) for v in values])]
