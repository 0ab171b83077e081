"""The statistics module (``sim.experiments.stats``, backed by scipy.stats) against textbook
formulas computed by hand here, so replacing hand-written code by scipy changed no number."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import stdtrit  # Student t quantile at a fractional dof

from sim.experiments.stats import mean_ci, paired_stat, welch_half_width

T_975_7 = 2.3646242510102993        # t quantile 0.975, 7 degrees of freedom (tables)
T_975_2 = 4.302652729911275         # t quantile 0.975, 2 degrees of freedom


def test_mean_ci_is_the_textbook_t_interval():
    x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    e = mean_ci(x)
    sd = math.sqrt(sum((v - 5.0) ** 2 for v in x) / 7)       # sample sd, n − 1
    assert (e.mean, e.n) == (5.0, 8) and e.sd == pytest.approx(sd)
    assert e.half_width == pytest.approx(T_975_7 * sd / math.sqrt(8))
    assert e.ci == pytest.approx((5.0 - e.half_width, 5.0 + e.half_width))
    one = mean_ci([3.0])
    assert one.mean == 3.0 and math.isnan(one.half_width) and math.isnan(one.sd)
    flat = mean_ci([2.0, 2.0, 2.0])
    assert (flat.sd, flat.half_width) == (0.0, 0.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_ci([])


def test_welch_half_width_is_welch_satterthwaite():
    a = np.array([10.0, 12.0, 11.0, 13.0, 12.0])
    b = np.array([14.0, 9.0, 16.0, 12.0, 15.0, 11.0])
    va = sum((x - a.mean()) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - b.mean()) ** 2 for x in b) / (len(b) - 1) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    assert welch_half_width(a, b) == pytest.approx(stdtrit(dof, 0.975) * math.sqrt(va + vb))
    assert welch_half_width([1.0, 1.0], [2.0, 2.0]) == 0.0
    assert math.isnan(welch_half_width([1.0], [2.0, 3.0]))


def test_paired_t_interval_and_p_value_by_hand():
    s = paired_stat([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])        # differences 1, 2, 3: sd 1
    half = T_975_2 / math.sqrt(3)
    assert s.delta == 2.0 and s.ci == pytest.approx((2.0 - half, 2.0 + half))
    t = 2.0 / (1.0 / math.sqrt(3))                          # mean / (sd / √n)
    p = 1.0 - t / math.sqrt(2.0 + t * t)                    # 2-sided, t cdf with 2 dof
    assert s.p_value == pytest.approx(p) and not s.significant     # p = 0.074: CI holds 0
    zero = paired_stat([1.0, 2.0], [1.0, 2.0])
    assert (zero.delta, zero.ci, zero.p_value) == (0.0, (0.0, 0.0), 1.0)
    one = paired_stat([1.0], [3.0])
    assert one.delta == 2.0 and math.isnan(one.half_width) and not one.significant
