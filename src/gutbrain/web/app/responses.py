"""Shaping results for the wire: significant digits, summaries, CSV downloads, parameter records."""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from urllib.parse import quote

import numpy as np
from fastapi.responses import Response


# -- serialisation --------------------------------------------------------------------------------
def _sig(a: np.ndarray, digits: int = 7) -> list:
    """Round to ``digits`` significant digits for compact JSON; NaN/inf become null."""
    a = np.asarray(a, dtype=float)
    finite = np.isfinite(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(finite & (a != 0), np.floor(np.log10(np.abs(np.where(finite & (a != 0), a, 1.0)))), 0.0)
        scale = 10.0 ** (digits - 1 - mag)
        r = np.where(finite, np.round(a * scale) / scale, 0.0)
    out = r.tolist()
    if not finite.all():
        out = [v if ok else None for v, ok in zip(out, finite.tolist(), strict=True)]
    return out


def _summary(t: np.ndarray, v: np.ndarray) -> dict:
    first, last = t <= t[0] + 1.0, t >= t[-1] - 1.0
    finite = np.isfinite(v)
    if not finite.any():
        return {"start": None, "end": None, "min": None, "max": None}
    return {k: float(f"{x:.6g}") if math.isfinite(x) else None for k, x in (
        ("start", float(np.nanmean(v[first]))), ("end", float(np.nanmean(v[last]))),
        ("min", float(np.nanmin(v))), ("max", float(np.nanmax(v))))}


def _csv_response(header_lines: list[str], columns: list[str], rows, filename: str) -> Response:
    buf = io.StringIO()
    for line in header_lines:
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(filename)})


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact name as RFC 5987 ``filename*`` (RFC 6266).

    Control characters, path separators and quotes become ``_`` in both; the fallback keeps only
    ASCII letters, digits, ``.``, ``-`` and ``_`` (accents are dropped: ``café`` -> ``cafe``).
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ext = "." + ext if ext else ""
    stem = re.sub(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\"]+', "_", stem).strip(" .") or "gutbrain"
    stem = stem[:120]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._") or "gutbrain"
    return (f'attachment; filename="{ascii_stem}{ext}"; '
            f"filename*=UTF-8''{quote(stem + ext, safe='')}")


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.7g}"


def _cell(v) -> str:
    if isinstance(v, float):
        return _fmt(v)
    return "" if v is None else str(v)


def _param(p) -> dict:
    return {"name": p.name, "module": p.module, "value": p.value, "unit": p.unit, "lower": p.lower, "upper": p.upper,
            "prior": p.prior, "source": p.source, "grade": p.grade, "note": p.note}
