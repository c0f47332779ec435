"""What a figure may draw, decided in one place, and a check that its text is readable.

* :func:`roundoff` decides whether a quantity is zero to round-off, by one stated criterion:
  ``max |x| <= ROUNDOFF_RTOL * scale`` where ``scale`` is the quantity's *natural scale* (the
  size the same computation produces where it is not zero: the largest value of the quantity, or
  of its physical companions, anywhere in the store).  Double-precision sums of N terms of size
  ``scale`` carry errors of about ``N * 2.2e-16 * scale`` (N up to ~1e6 mesh points): below
  1e-9 of the scale a value is not resolved by the computation, so it is stated, not drawn.
* :func:`offset` decides whether a map is a constant plus a small variation (peak-to-peak below
  ``OFFSET_RTOL`` of its mean magnitude): such a map is drawn as ``x - offset`` with the offset
  written in its label, so that a constant is not drawn as structure.
* :func:`text_overlaps` renders a figure and lists the pairs of drawn text boxes that overlap
  (matplotlib's renderer, ``Text.get_window_extent``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.text as mtext  # noqa: E402
import numpy as np  # noqa: E402

#: a quantity whose largest magnitude is at most this fraction of its natural scale is zero to
#: round-off (see the module docstring for why 1e-9)
ROUNDOFF_RTOL = 1e-9
#: a map whose peak-to-peak range is below this fraction of its mean magnitude is drawn as an
#: offset plus the variation
OFFSET_RTOL = 0.01


def finite_max_abs(x) -> float:
    """max |x| over the finite entries (0 when none is finite)."""
    x = np.asarray(x, float)
    finite = np.isfinite(x)
    return float(np.abs(x[finite]).max()) if finite.any() else 0.0


@dataclass(frozen=True)
class RoundOff:
    """The verdict of :func:`roundoff` on one quantity."""

    zero: bool          #: zero to round-off (or exactly zero): say so, do not draw
    max_abs: float      #: max |x| over the finite values
    scale: float        #: the natural scale it was compared with
    any_finite: bool    #: False when no value is finite (nothing to decide)

    @property
    def ratio(self) -> float:
        return self.max_abs / self.scale if self.scale > 0 else 0.0

    def text(self, name: str = "x", units: str = "") -> str:
        """'zero to round-off (max |name| = 9.4e-16 units, 1e-15 of its natural scale 0.92)'."""
        u = f" {units}" if units and units != "1" else ""
        if self.max_abs == 0:
            return f"zero (max |{name}| = 0{u})"
        return (f"zero to round-off (max |{name}| = {self.max_abs:.2g}{u},\n"
                f"{self.ratio:.1g} of its natural scale {self.scale:.2g}{u})")


def roundoff(x, scale: float | None = None, rtol: float = ROUNDOFF_RTOL) -> RoundOff:
    """Is ``x`` zero to round-off?  True when ``max |x| <= rtol * scale`` (``scale``: the natural
    scale of the quantity, defaults to max |x|, for which only an exact zero counts), or when
    every finite value is exactly zero.  An all-NaN ``x`` is not zero (``any_finite`` False)."""
    x = np.asarray(x, float)
    finite = np.isfinite(x)
    top = finite_max_abs(x)
    scale = top if scale is None or not np.isfinite(scale) else max(float(scale), top)
    if not finite.any():
        return RoundOff(False, 0.0, scale, False)
    return RoundOff(bool(top == 0.0 or top <= rtol * scale), top, scale, True)


@dataclass(frozen=True)
class Offset:
    """The verdict of :func:`offset`: draw ``x - value`` when ``value`` is not 0."""

    value: float
    spread: float  #: peak-to-peak range of the finite values

    def label(self, name: str) -> str:
        if self.value == 0:
            return name
        return f"{name} $-$ {self.value:.6g}"

    def note(self) -> str:
        if self.value == 0:
            return ""
        rel = self.spread / abs(self.value)
        return (f"constant {self.value:.6g} to {rel:.2%}" if rel >= 1e-4 else
                f"constant {self.value:.6g} to a relative {rel:.2g}") + f" (range {self.spread:.3g}): its variation is drawn"


def offset(x, rtol: float = OFFSET_RTOL) -> Offset:
    """A map that is a constant to within ``rtol`` of its mean magnitude (peak to peak) gets an
    offset: its mean, rounded to the digits the variation leaves; otherwise offset 0."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return Offset(0.0, 0.0)
    spread, mean = float(np.ptp(x)), float(np.mean(x))
    if mean == 0 or spread >= rtol * abs(mean):
        return Offset(0.0, spread)
    if spread > 0:  # round to the decade of the spread: 12.7140 +/- 0.028 -> 12.71
        digits = max(0, -int(np.floor(np.log10(spread))))
        mean = round(mean, digits)
    return Offset(mean, spread)


# --------------------------------------------------------------------------------- text overlaps

@contextlib.contextmanager
def _recording_drawn_text(found: list):
    """Record every Text artist that is drawn (visible, non-empty) with its window extent."""
    original = mtext.Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip() and (self.get_alpha() is None or self.get_alpha() > 0):
            found.append((self, self.get_window_extent(renderer)))

    mtext.Text.draw = draw
    try:
        yield found
    finally:
        mtext.Text.draw = original


def text_overlaps(fig, tolerance: float = 1.0) -> list[tuple[str, str]]:
    """Render ``fig`` and return the pairs of drawn text boxes that overlap by more than
    ``tolerance`` pixels in both directions (each as the two texts)."""
    found: list = []
    with _recording_drawn_text(found):
        fig.canvas.draw()
    boxes = [(t.get_text(), b) for t, b in found if b.width > 0 and b.height > 0]
    pairs = []
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > tolerance and dy > tolerance:
                pairs.append((ta, tb))
    return pairs
