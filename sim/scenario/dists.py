"""Probability distributions declared in scenario files.

Each distribution is frozen, typed data with a ``kind`` tag. ``sample`` takes the
generator explicitly (no global random state) and ``mean`` is exact, so the model can
size stock and forecasts from the same declaration that drives the randomness.

NumPy is imported only by the few methods that need it (``Const.sample``, ``Discrete``), not
by this module: loading and validating a scenario never pays NumPy's import. ``approx_mean``
is the mean without NumPy, for the bound checks of validation (``MEAN_RTOL``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.limits import FINITE, MAX_DIST

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Dist", "DIST_KINDS", "MEAN_RTOL", "Const", "Poisson", "Geometric", "Discrete",
           "Exponential", "Gamma", "LogNormal", "Uniform", "Triangular"]


#: A distribution parameter: finite (``FINITE``), at least 0 and at most ``MAX_DIST``.
_Param = Annotated[float, Field(ge=0, le=MAX_DIST)]
#: A coefficient of variation: 0.01 to 100 (1/cv² is a gamma shape; cv² must not overflow).
_Cv = Annotated[float, Field(ge=0.01, le=100)]
#: ``approx_mean`` is within this relative distance of ``mean``: both sum at most 10,000
#: products of non-negative numbers, each sum within 10,000 × 2⁻⁵³ (~1e-12) of the exact one.
MEAN_RTOL = 1e-9


class _Dist(BaseModel):
    model_config = FINITE

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values from this distribution using ``rng``."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """Exact mean of the distribution."""
        raise NotImplementedError

    @property
    def approx_mean(self) -> float:
        """The mean within ``MEAN_RTOL`` of ``mean``, computed without NumPy (``mean`` itself
        unless that needs NumPy)."""
        return self.mean


class Const(_Dist):
    """Always the same value (deterministic service or lead times)."""

    kind: Literal["const"]
    value: _Param

    def sample(self, rng, size):  # noqa: D102
        import numpy as np

        return np.full(size, self.value)

    @property
    def mean(self):  # noqa: D102
        return self.value


class Poisson(_Dist):
    """``shift`` plus a Poisson count: order sizes that are at least ``shift``."""

    kind: Literal["poisson"]
    mean_extra: _Param = Field(description="mean of the Poisson part")
    shift: int = Field(0, ge=0, le=MAX_DIST)

    def sample(self, rng, size):  # noqa: D102
        return self.shift + rng.poisson(self.mean_extra, size)

    @property
    def mean(self):  # noqa: D102
        return self.shift + self.mean_extra


class Geometric(_Dist):
    """Number of trials to first success (≥ 1): long-tailed basket sizes."""

    kind: Literal["geometric"]
    p: float = Field(ge=1 / MAX_DIST, le=1)

    def sample(self, rng, size):  # noqa: D102
        return rng.geometric(self.p, size)

    @property
    def mean(self):  # noqa: D102
        return 1.0 / self.p


class Discrete(_Dist):
    """An explicit table of values and probabilities."""

    kind: Literal["discrete"]
    values: list[_Param] = Field(min_length=1, max_length=10_000)
    probs: list[float] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _check(self):
        if len(self.values) != len(self.probs):
            raise ValueError("values and probs must have the same length")
        if any(p < 0 for p in self.probs) or not math.isclose(sum(self.probs), 1.0, abs_tol=1e-6):
            raise ValueError("probs must be ≥ 0 and sum to 1")
        if any(v < 0 for v in self.values):
            raise ValueError("values must be ≥ 0")
        return self

    def sample(self, rng, size):  # noqa: D102
        import numpy as np

        cdf = np.cumsum(self.probs)
        idx = np.searchsorted(cdf / cdf[-1], rng.random(size), side="right")
        return np.asarray(self.values)[np.minimum(idx, len(self.values) - 1)]

    @property
    def mean(self):  # noqa: D102
        import numpy as np

        return float(np.dot(self.values, self.probs))

    @property
    def approx_mean(self):  # noqa: D102
        return math.fsum(v * p for v, p in zip(self.values, self.probs, strict=True))


class _MeanDist(_Dist):
    """A continuous distribution parametrised by its mean (written ``mean:`` in YAML)."""

    model_config = ConfigDict(**FINITE, populate_by_name=True)
    mean_value: float = Field(gt=0, le=MAX_DIST, alias="mean")

    @property
    def mean(self):  # noqa: D102
        return self.mean_value


class Exponential(_MeanDist):
    """Memoryless times (M/M/c service, Poisson gaps)."""

    kind: Literal["exponential"]

    def sample(self, rng, size):  # noqa: D102
        return rng.exponential(self.mean_value, size)


class Gamma(_MeanDist):
    """Gamma with a given mean and coefficient of variation."""

    kind: Literal["gamma"]
    cv: _Cv

    def sample(self, rng, size):  # noqa: D102
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_value / shape, size)


class LogNormal(_MeanDist):
    """Log-normal with a given mean and coefficient of variation (supplier lead times)."""

    kind: Literal["lognormal"]
    cv: _Cv

    def sample(self, rng, size):  # noqa: D102
        sigma2 = math.log(1.0 + self.cv**2)
        mu = math.log(self.mean_value) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), size)


class Uniform(_Dist):
    """Uniform on [low, high]."""

    kind: Literal["uniform"]
    low: _Param
    high: _Param

    @model_validator(mode="after")
    def _check(self):
        if self.high < self.low:
            raise ValueError("high must be ≥ low")
        return self

    def sample(self, rng, size):  # noqa: D102
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self):  # noqa: D102
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Triangular on [low, high] with a mode: expert-judgement lead times."""

    kind: Literal["triangular"]
    low: _Param
    mode: _Param
    high: _Param

    @model_validator(mode="after")
    def _check(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low ≤ mode ≤ high and low < high")
        return self

    def sample(self, rng, size):  # noqa: D102
        return rng.triangular(self.low, self.mode, self.high, size)

    @property
    def mean(self):  # noqa: D102
        return (self.low + self.mode + self.high) / 3


Dist = Annotated[
    Const | Poisson | Geometric | Discrete | Exponential | Gamma | LogNormal | Uniform | Triangular,
    Field(discriminator="kind"),
]

#: The ``kind`` tags of ``Dist`` (pydantic puts them in error locations).
DIST_KINDS = frozenset(get_args(m.model_fields["kind"].annotation)[0]
                       for m in get_args(get_args(Dist)[0]))
