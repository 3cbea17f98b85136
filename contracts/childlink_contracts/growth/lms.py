"""The LMS method as WHO applies it (WHO Child Growth Standards, Methods and development, 2006, ch. 7).

z = ((y/M)^L - 1) / (L S). For the weight-based indicators WHO restricts the LMS curve beyond ±3 SD
("restricted application of the LMS method"): the distance between the 2 and 3 SD curves is
carried on linearly, z = 3 + (y - SD3) / (SD3 - SD2), mirrored below -3.
"""

import math


def value_at(lms, z):
    """The measurement at z-score z on the LMS curve (the SD lines of the charts)."""
    l_, m, s = lms
    if abs(l_) < 1e-12:
        return m * math.exp(s * z)
    return m * (1 + l_ * s * z) ** (1 / l_)


def zscore(y, lms):
    l_, m, s = lms
    if abs(l_) < 1e-12:
        return math.log(y / m) / s
    return ((y / m) ** l_ - 1) / (s * l_)


def zscore_restricted(y, lms):
    z = zscore(y, lms)
    if z > 3:
        sd3, sd2 = value_at(lms, 3), value_at(lms, 2)
        return 3 + (y - sd3) / (sd3 - sd2)
    if z < -3:
        sd3, sd2 = value_at(lms, -3), value_at(lms, -2)
        return -3 + (y - sd3) / (sd2 - sd3)
    return z


def interpolate(low, high, fraction):
    """LMS between two table rows, each parameter linearly (as WHO's anthro and anthroplus do)."""
    if fraction <= 0:
        return low
    return tuple(a + fraction * (b - a) for a, b in zip(low, high, strict=True))


def round_half_up(z, digits=2):
    """WHO reports z to 2 decimals; half away from zero as Stata's round(z, 0.01) and R's round()
    give for every value not already a binary tie."""
    scale = 10 ** digits
    return math.copysign(math.floor(abs(z) * scale + 0.5) / scale, z)
