"""Inspect one uploaded product photo: refuse what curators cannot use, hint at what to improve.

Pure: Pillow only, no chat library, no database. Refusals are hard (the photo is not stored);
hints are advice the producer may ignore, so their thresholds lean towards staying quiet.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import warnings
import weakref
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageFilter, ImageStat

from handlers.rules.photo_hash import perceptual_hash

__all__ = ["Hint", "PhotoLimits", "PhotoReport", "Refusal", "check_photo", "inspect_photo"]


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
    # Pixel limits, read from the header before anything is decoded. A baseline JPEG (what
    # phone cameras write) is decoded at 1/8 scale for the checks, so even a 108 MP phone
    # photo (12,000 x 9,000) stays cheap; 12,000 x 12,000 is no phone photo.
    max_pixels: int = 110_000_000
    # PNG, WebP and progressive JPEG are decoded at full size (4 bytes a pixel for colour),
    # so they get less: 16 MP is a 4,608 x 3,456 camera photo saved lossless, a screenshot
    # is under 6 MP. A 40 MP PNG of one colour (126 KB on the wire) is refused here.
    max_pixels_full_decode: int = 16_000_000
    # Photos decoded at once per process: bounds memory when many arrive together.
    max_concurrent_decodes: int = 2


class Refusal(StrEnum):
    too_large = "too_large"  # the file's bytes
    too_many_pixels = "too_many_pixels"  # its width x height (a decompression bomb, a poster)
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
    # The 64-bit perceptual hash (handlers/rules/photo_hash.py): copies across businesses.
    phash: int | None = None

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
# Formats Pillow can decode at a fraction of their size (Image.draft).
_SCALED_DECODE = frozenset({"JPEG", "MPO"})
Image.init()
# Pillow warns from 89 MP up; our own limits, checked from the header right after opening,
# decide instead (a 108 MP phone photo is fine, a 40 MP PNG is not).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
_OPEN_FORMATS = tuple(f for f in (*_ACCEPTED, *_RECOGNISED) if f in Image.OPEN)

_ORIENTATION_TAG = 0x0112
_SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees
_WORK_SIDE = 512
_GRID = 4
_LAPLACE = (0, 1, 0, 1, -4, 1, 0, 1, 0)


async def check_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> PhotoReport:
    """`inspect_photo` in a worker thread, at most `max_concurrent_decodes` at a time."""
    async with _decode_slots(limits.max_concurrent_decodes):
        return await asyncio.to_thread(inspect_photo, data, limits)


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _decode_slots(size: int) -> asyncio.Semaphore:
    # One semaphore per event loop: an asyncio.Semaphore belongs to the loop it first waits on.
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(size)
    return slots


def inspect_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> PhotoReport:
    """Check one uploaded file; never raises on arbitrary bytes."""
    digest, size = hashlib.sha256(data).hexdigest(), len(data)

    def refuse(refusal: Refusal, width: int = 0, height: int = 0) -> PhotoReport:
        return PhotoReport(refusal, digest, None, None, width, height, size)

    if size > limits.max_bytes:
        return refuse(Refusal.too_large)  # before any decoding
    try:
        # Everything up to load() reads the header only.
        with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as probe:
            width, height = probe.size
            scaled = probe.format in _SCALED_DECODE and not probe.info.get("progressive")
            cap = limits.max_pixels if scaled else limits.max_pixels_full_decode
            if width * height > min(cap, limits.max_pixels):
                return refuse(Refusal.too_many_pixels, width, height)
            if probe.format not in _ACCEPTED:
                # Named by its header; never decoded, so its decoder never sees untrusted bytes.
                return refuse(Refusal.unsupported_format, width, height)
            mime, extension = _ACCEPTED[probe.format]
            if min(width, height) < limits.min_side:  # a quarter turn keeps the short side
                return PhotoReport(Refusal.too_small, digest, mime, extension, width, height, size)
            probe.verify()  # PNG chunk checksums; leaves the image unusable, hence the reopen
        with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as img:
            # JPEG decodes straight to grayscale at 1/2..1/8 scale: little memory, most of
            # the speed-up. Other formats decode whole and are reduced at once.
            img.draft("L", (_WORK_SIDE, _WORK_SIDE))
            img.load()  # a truncated or corrupt body fails here
            if _orientation(img) in _SWAPS_SIDES:
                width, height = height, width
            small = _reduced(img)
            if small is not img:
                img.close()  # frees the full-size pixels before the conversions below
            gray = _working_gray(small)
            brightness, contrast, sharpness = _measure(gray)
            phash = perceptual_hash(gray)
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        return refuse(Refusal.too_many_pixels)
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
        phash=phash,
    )


def _orientation(img: Image.Image) -> int:
    # The same tag ImageOps.exif_transpose obeys. Only the reported size needs it: every
    # measurement below is unchanged by 90-degree turns and flips, so the pixels stay as stored.
    try:
        return int(img.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a mangled EXIF block should not sink an otherwise fine photo
        return 1


# Modes Image.reduce averages correctly; not P, 1 or I;16.
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"})
_STRIP_ROWS = 64  # output rows per strip when reducing an image with alpha


def _reduced(img: Image.Image) -> Image.Image:
    """Shrunk by a whole factor before any conversion makes a full-size copy: the same step
    resize(reducing_gap=3) takes first, so the measurements do not change."""
    factor = max(img.size) // (_WORK_SIDE * 3)
    if factor <= 1:
        return img
    if img.mode == "P" or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode not in _REDUCIBLE:
        return img
    if img.mode not in ("RGBA", "LA"):
        return img.reduce(factor)
    # With alpha, reduce() premultiplies into a full-size copy; strip by strip it doesn't.
    width, height = img.size
    out = Image.new(img.mode, (-(-width // factor), -(-height // factor)))
    step = factor * _STRIP_ROWS
    for top in range(0, height, step):
        strip = img.crop((0, top, width, min(top + step, height))).reduce(factor)
        out.paste(strip, (0, top // factor))
    return out


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
