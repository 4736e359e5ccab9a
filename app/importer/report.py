"""What the import and instruments commands print: the summary of an import and the table of stored instruments."""

from __future__ import annotations

from app.importer.times import format_time
from app.market.resolutions import DAY
from app.store.base import StoredInstrument, WriteResult


def span(first: int, last: int) -> str:
    """`2024-01-02 14:30 → 2024-03-28 20:59 UTC`, or `2004-08-19 → 2013-03-01` for dates."""
    if first % DAY == 0 and last % DAY == 0:
        return f"{format_time(first)} → {format_time(last)}"
    return f"{format_time(first, clock=True).removesuffix(' UTC')} → {format_time(last, clock=True)}"


def outcome(result: WriteResult, repeats: int) -> str:
    """`1,000 new, 0 unchanged, 0 replaced` (and the identical repeated rows dropped, if any)."""
    said = f"{result.inserted:,} new, {result.unchanged:,} unchanged, {result.replaced:,} replaced"
    return f"{said}; {repeats:,} repeated row{'s' if repeats != 1 else ''} dropped" if repeats else said


def rate(rows: int, seconds: float) -> str:
    """`in 4.1 s (243,000 rows/s)`; under a second in milliseconds: `in 12 ms (81 rows/s)`."""
    per_second = rows / seconds if seconds > 0 else float(rows)
    milliseconds = round(seconds * 1000)
    took = f"{milliseconds} ms" if milliseconds < 1000 else f"{seconds:.1f} s"
    return f"in {took} ({round(per_second, -3 if per_second >= 10_000 else 0):,.0f} rows/s)"


def instruments_table(instruments: list[StoredInstrument]) -> str:
    """One line per stored instrument and resolution: its description, then each resolution's first and last bar
    (UTC); an instrument without bars has one line with `-` for its resolutions."""
    header = ("SYMBOL", "TYPE", "EXCHANGE", "TIMEZONE", "SESSION", "PRICESCALE", "RESOLUTION", "FIRST BAR", "LAST BAR")
    rows: list[tuple[str, ...]] = []
    for item in instruments:
        spec = item.spec
        described = (
            spec.symbol,
            str(spec.asset_class),
            spec.exchange,
            spec.timezone,
            spec.session,
            f"{spec.pricescale}",
        )
        if not item.resolutions:
            rows.append((*described, "-", "-", "-"))
        for index, resolution in enumerate(item.resolutions):
            first, last = item.spans.get(resolution, (None, None))
            rows.append(
                (
                    *(described if index == 0 else ("",) * len(described)),
                    resolution.value,
                    "-" if first is None else format_time(first),
                    "-" if last is None else format_time(last),
                )
            )
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )
