"""A picture file's pixels -> the canvas's square of white ink on black.

Photos and scans are not drawings: paper is grey and noisy, ink may be dark
or light, and the background may be transparent. The paper is found as the
class of Otsu's two-class split that holds most of the border, and only what
lies on the other side of the threshold counts as ink, so the noise of a grey
photo does not become a canvas full of faint ink.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.errors import CnnvizError

MAX_SIDE = 1024  # the canvas shows 280 pixels; more only costs memory when padded to a square
MAX_PIXELS = 40_000_000  # refused before decoding (see cnnviz.qt.widgets.picture_file)
MAX_FILE_BYTES = 100_000_000  # 100 MB of compressed picture
MIN_CONTRAST = 24  # grey levels between paper and ink below which a picture is one flat shade
MIN_INK_PIXELS = 4


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of uint8-range values: the split that maximises between-class variance.

    Returns t such that the classes are ``values <= t`` and ``values > t``.
    """
    hist = np.bincount(np.clip(np.asarray(values), 0, 255).astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * levels)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    # Two clean levels leave a plateau of equally good splits: take its middle, not its first step.
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    return float(np.floor((best[0] + best[-1]) / 2))


def border(img: np.ndarray) -> np.ndarray:
    return np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])


def drop_specks(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its isolated pixels: those with fewer than 2 of their 8 neighbours set.

    A photo's noise crosses any threshold here and there, in single pixels;
    strokes, even 1 pixel thin, have neighbours along them.
    """
    padded = np.pad(mask, 1).astype(np.uint8)
    h, w = mask.shape
    neighbours = sum(padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - mask
    return mask & (neighbours >= 2)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def composite_alpha(rgba: np.ndarray) -> np.ndarray:
    """Grey levels of an RGBA picture laid on its paper (float32, 0..255).

    With an opaque border the paper is that border's colour. With a
    transparent border the opaque pixels are the drawing, and the paper is
    the shade that contrasts with them: white ink on a transparent background
    is laid on black, dark ink on white.
    """
    lum = _luminance(rgba)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    if alpha.min() >= 1.0:
        return lum
    edge_alpha, edge_lum = border(alpha), border(lum)
    if np.median(edge_alpha) >= 0.5:
        paper = float(np.median(edge_lum[edge_alpha >= 0.5]))
    else:
        drawn = lum[alpha >= 0.5]
        paper = 255.0 if drawn.size == 0 or np.median(drawn) < 128 else 0.0
    return alpha * lum + (1.0 - alpha) * paper


def _shrink(gray: np.ndarray) -> np.ndarray:
    """Area-average ``gray`` so that its longer side is at most ``MAX_SIDE``."""
    h, w = gray.shape
    factor = int(np.ceil(max(h, w) / MAX_SIDE))
    if factor <= 1:
        return gray
    h2, w2 = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.pad(gray, ((0, h2 - h), (0, w2 - w)), mode="edge")
    return padded.reshape(h2 // factor, factor, w2 // factor, factor).mean(axis=(1, 3))


def ink_of(gray: np.ndarray, name: str = "the picture") -> np.ndarray:
    """Ink strength in [0, 1] (float32) of a grey picture, whichever way round its ink is.

    Raises ``CnnvizError`` ("No ink found ...") for a picture of one shade.
    """
    levels = np.clip(gray, 0, 255).astype(np.uint8)  # the classes exactly as Otsu's histogram saw them
    t = otsu_threshold(levels)
    dark, light = levels <= t, levels > t
    edge = border(levels)
    paper_is_light = np.count_nonzero(edge > t) * 2 > edge.size
    paper_mask, ink_mask = (light, dark) if paper_is_light else (dark, light)
    if np.count_nonzero(ink_mask) < MIN_INK_PIXELS:
        raise CnnvizError(f"No ink found in {name}: it is all one shade.")
    paper, ink = float(np.median(gray[paper_mask])), float(np.median(gray[ink_mask]))
    if abs(paper - ink) < MIN_CONTRAST:
        raise CnnvizError(f"No ink found in {name}: its darkest and lightest parts differ too little.")
    strength = np.clip((gray - paper) / (ink - paper), 0.0, 1.0).astype(np.float32)
    strength[~drop_specks(ink_mask)] = 0.0  # the paper, and its noise, is not faint ink
    return strength


def picture_to_canvas(pixels: np.ndarray, name: str = "the picture") -> np.ndarray:
    """A picture's pixels -> a square uint8 image of white ink on black, at most ``MAX_SIDE`` a side.

    Parameters
    ----------
    pixels
        uint8 array: H x W grey, H x W x 3 RGB or H x W x 4 RGBA.
    name
        How the picture is named in messages, e.g. "'seven.png'".

    Raises ``CnnvizError`` with one sentence for a picture too large or with no ink.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim not in (2, 3) or pixels.size == 0 or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)):
        raise CnnvizError(f"{name[0].upper() + name[1:]} is not a grey or colour picture.")
    h, w = pixels.shape[:2]
    if h * w > MAX_PIXELS:
        raise CnnvizError(
            f"{name[0].upper() + name[1:]} has {h}x{w} pixels, more than the {MAX_PIXELS // 1_000_000} million cnnviz opens."
        )
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        gray = composite_alpha(pixels)
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        gray = _luminance(pixels)
    else:
        gray = pixels.reshape(h, w).astype(np.float32)
    strength = ink_of(_shrink(gray), name)  # shrunk before padding: a 30000x1 strip stays small
    h, w = strength.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top : top + h, left : left + w] = strength
    return (square * 255.0 + 0.5).astype(np.uint8)


MAX_DIMENSION = 8000  # pixels a side, declared in the file's header (the window's limit too)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) a PNG, GIF, JPEG or WebP file declares in its header, without decoding; None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if kind == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if kind == b"VP8 ":
            return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame segment
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


def check_declared_size(name: str, width: int, height: int) -> None:
    """Refuse, before decoding, a picture declaring more than ``MAX_DIMENSION`` a side or ``MAX_PIXELS``."""
    if width > MAX_DIMENSION or height > MAX_DIMENSION or width * height > MAX_PIXELS:
        raise CnnvizError(
            f"{name} is {width}x{height} pixels; cnnviz opens pictures up to {MAX_DIMENSION}x{MAX_DIMENSION} "
            f"and {MAX_PIXELS // 1_000_000} million pixels."
        )
