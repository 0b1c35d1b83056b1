"""Sizes as people read them."""

from __future__ import annotations


def human_size(n: int) -> str:
    """Binary units, as `ls -h` and our tables show them: `512 B`, `44.5 KiB`, `4.2 GiB`."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def decimal_size(n: int) -> str:
    """Decimal units, as the Hub's file list shows them (for the model card): `4.54 GB`."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"
