"""Peak memory of checking one uploaded photo: prints the rise in peak RSS per case.

    .venv/bin/python bench/photo_memory.py

Each case runs in a fresh process (peak RSS only ever grows), after the file is read and
Pillow imported, so the figure is what inspecting that one photo costs.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from handlers.rules.photos import PhotoLimits


def measure(path: Path) -> tuple[str, int, int, int]:
    """Check one file in this process: (verdict, width, height, rise of peak RSS in MB)."""
    from handlers.rules.photos import inspect_photo

    data = path.read_bytes()
    before = _peak_kb()
    report = inspect_photo(data)
    return report.refusal or "accepted", report.width, report.height, (_peak_kb() - before) // 1024


def measure_apart(path: Path) -> tuple[str, int, int, int]:
    """`measure` in a fresh process: peak RSS only ever grows."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "measure", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1]), int(out[2]), int(out[3])


def _peak_kb() -> int:
    # VmHWM: unlike ru_maxrss, not inherited from the parent process.
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0])


def _scene(width: int, height: int, mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(img)
    for i in range(0, width, max(1, width // 40)):  # enough detail not to be "blurred"
        draw.line([(i, 0), (width - i, height)], fill="black", width=max(1, width // 400))
    return img


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=60)
    return out.getvalue()


def cases(folder: Path) -> list[tuple[str, Path]]:
    limits = PhotoLimits()
    made: list[tuple[str, bytes]] = []
    # The probe's image: 39.7 MP of nearly one colour, 126 KB as a PNG.
    made.append(("39.7 MP flat PNG", _png(Image.new("RGB", (7720, 5143), (200, 180, 160)))))
    side = int(limits.max_pixels_full_decode**0.5)
    made.append((f"largest accepted PNG ({side}x{side})", _png(_scene(side, side))))
    made.append((f"largest accepted RGBA PNG ({side}x{side})", _png(_scene(side, side, "RGBA"))))
    width = 12_000
    height = limits.max_pixels // width
    made.append((f"largest accepted JPEG ({width}x{height})", _jpeg(_scene(width, height))))
    made.append(("12 MP phone JPEG (4000x3000)", _jpeg(_scene(4000, 3000))))
    paths = []
    for i, (name, data) in enumerate(made):
        path = folder / f"case{i}"
        path.write_bytes(data)
        paths.append((f"{name}, {len(data) // 1024} KB", path))
    return paths


def main() -> None:
    if sys.argv[1:2] == ["measure"]:
        print(*measure(Path(sys.argv[2])))
        return
    with tempfile.TemporaryDirectory() as folder:
        for name, path in cases(Path(folder)):
            verdict, width, height, mb = measure_apart(path)
            print(f"{name}: {verdict} ({width}x{height}), peak RSS +{mb} MB")


if __name__ == "__main__":
    main()
