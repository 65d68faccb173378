"""Inspect one uploaded product photo: refuse what curators cannot use, hint at what to improve.

Pure: Pillow only, no chat library, no database. Refusals are hard (the photo is not stored);
hints are advice the producer may ignore, so their thresholds lean towards staying quiet.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageFilter, ImageStat

__all__ = ["Hint", "PhotoLimits", "PhotoReport", "Refusal", "inspect_photo"]


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 10 * 1024 * 1024
    min_side: int = 500  # short side, in pixels, after EXIF orientation
    # Mean luminance (0-255) of the whole photo.
    dark_below: float = 45.0
    # Washed out needs both: very bright on average AND little spread (std dev of luminance).
    bright_above: float = 215.0
    flat_below: float = 32.0
    # Sharpness = std dev of a 4-neighbour Laplacian in the sharpest cell of a 4x4 grid, divided
    # by the std dev of the whole photo (at least 1), x100. Measured on a grayscale copy scaled
    # to 512 px on its long side, so it depends neither on resolution nor on exposure (a dark
    # photo is not "blurred"), and a sharp product on a plain or bokeh background stays sharp.
    # Sharp photos score roughly 50-170; visibly out of focus, under 12.
    blur_below: float = 15.0
    # Checked from the header before decoding; Pillow's own bomb check only starts at 89 MP.
    max_pixels: int = 40_000_000


class Refusal(StrEnum):
    too_large = "too_large"
    not_image = "not_image"
    unsupported_format = "unsupported_format"
    too_small = "too_small"


class Hint(StrEnum):
    dark = "dark"
    washed_out = "washed_out"
    blurred = "blurred"


@dataclass(frozen=True)
class PhotoReport:
    refusal: Refusal | None
    sha256: str
    mime: str | None
    extension: str | None
    width: int
    height: int
    size: int
    hints: tuple[Hint, ...] = ()
    # Measured only for accepted photos; kept for logs and threshold tuning.
    brightness: float | None = None
    contrast: float | None = None
    sharpness: float | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


# Pillow format name -> (mime, extension). Phone JPEGs with a depth map or second frame open as
# MPO; they are ordinary JPEG files.
_ACCEPTED = {
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
# Real images we can name but do not take. Only these formats are ever tried: Pillow would
# otherwise guess header-less formats (TGA) from random bytes and hand EPS to Ghostscript.
_RECOGNISED = ("GIF", "BMP", "TIFF", "AVIF")
Image.init()
_OPEN_FORMATS = tuple(f for f in (*_ACCEPTED, *_RECOGNISED) if f in Image.OPEN)

_ORIENTATION_TAG = 0x0112
_SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees
_WORK_SIDE = 512
_GRID = 4
_LAPLACE = (0, 1, 0, 1, -4, 1, 0, 1, 0)


def inspect_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> PhotoReport:
    """Check one uploaded file; never raises on arbitrary bytes."""
    digest, size = hashlib.sha256(data).hexdigest(), len(data)

    def refuse(refusal: Refusal, width: int = 0, height: int = 0) -> PhotoReport:
        return PhotoReport(refusal, digest, None, None, width, height, size)

    if size > limits.max_bytes:
        return refuse(Refusal.too_large)  # before any decoding
    try:
        with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as probe:
            width, height = probe.size
            if width * height > limits.max_pixels:
                return refuse(Refusal.too_large, width, height)
            if probe.format not in _ACCEPTED:
                # Named by its header; never decoded, so its decoder never sees untrusted bytes.
                return refuse(Refusal.unsupported_format, width, height)
            probe.verify()  # PNG chunk checksums; leaves the image unusable, hence the reopen
        with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as img:
            mime, extension = _ACCEPTED[img.format or ""]
            # JPEG can decode straight to grayscale at 1/2..1/8 scale: most of the speed-up.
            img.draft("L", (_WORK_SIDE, _WORK_SIDE))
            img.load()  # a truncated or corrupt body fails here
            if _orientation(img) in _SWAPS_SIDES:
                width, height = height, width
            if min(width, height) < limits.min_side:
                return PhotoReport(Refusal.too_small, digest, mime, extension, width, height, size)
            brightness, contrast, sharpness = _measure(_working_gray(img))
    except Image.DecompressionBombError:  # Pillow's own limit, far above max_pixels
        return refuse(Refusal.too_large)
    except Exception:  # Pillow raises a zoo of types on hostile input; all mean "not a photo"
        return refuse(Refusal.not_image)

    hints: list[Hint] = []
    if brightness < limits.dark_below:
        hints.append(Hint.dark)
    if brightness > limits.bright_above and contrast < limits.flat_below:
        hints.append(Hint.washed_out)
    if sharpness < limits.blur_below:
        hints.append(Hint.blurred)
    return PhotoReport(
        None,
        digest,
        mime,
        extension,
        width,
        height,
        size,
        hints=tuple(hints),
        brightness=round(brightness, 1),
        contrast=round(contrast, 1),
        sharpness=round(sharpness, 1),
    )


def _orientation(img: Image.Image) -> int:
    # The same tag ImageOps.exif_transpose obeys. Only the reported size needs it: every
    # measurement below is unchanged by 90-degree turns and flips, so the pixels stay as stored.
    try:
        return int(img.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a mangled EXIF block should not sink an otherwise fine photo
        return 1


def _working_gray(img: Image.Image) -> Image.Image:
    if img.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit PNG: scale down, don't clip
        img = img.convert("I").point(lambda v: v * (1 / 256))
    elif img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        # Cut-out products on a transparent background: judge them as shown, on white.
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    gray = img.convert("L")
    scale = _WORK_SIDE / max(gray.size)
    size = (max(3, round(gray.width * scale)), max(3, round(gray.height * scale)))
    return gray.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _measure(gray: Image.Image) -> tuple[float, float, float]:
    stat = ImageStat.Stat(gray)
    brightness, contrast = stat.mean[0], stat.stddev[0]
    # Pillow clips filter output to 0..255, so take the Laplacian's positive and negative
    # halves separately and recombine their sums; drop the 1 px border Pillow leaves unfiltered.
    inner = (1, 1, gray.width - 1, gray.height - 1)
    pos = gray.filter(ImageFilter.Kernel((3, 3), _LAPLACE, scale=1)).crop(inner)
    neg = gray.filter(ImageFilter.Kernel((3, 3), [-k for k in _LAPLACE], scale=1)).crop(inner)
    best = 0.0
    for box in _grid(pos.width, pos.height):
        p, n = ImageStat.Stat(pos.crop(box)), ImageStat.Stat(neg.crop(box))
        count = p.count[0]
        mean = (p.sum[0] - n.sum[0]) / count
        variance = (p.sum2[0] + n.sum2[0]) / count - mean * mean
        best = max(best, math.sqrt(max(variance, 0.0)))
    return brightness, contrast, 100 * best / max(contrast, 1.0)


def _grid(width: int, height: int) -> list[tuple[int, int, int, int]]:
    xs = [width * i // _GRID for i in range(_GRID + 1)]
    ys = [height * i // _GRID for i in range(_GRID + 1)]
    return [
        (xs[i], ys[j], xs[i + 1], ys[j + 1])
        for i in range(_GRID)
        for j in range(_GRID)
        if xs[i + 1] > xs[i] and ys[j + 1] > ys[j]
    ]
