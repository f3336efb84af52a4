"""Result rows and the printed table."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    workload: str
    product: str = "-"
    ceiling: str = "-"
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None  # None: not measured (endpoint not landed, or skipped)
    notes: list[str] = field(default_factory=list)


def table(rows: list[Row]) -> str:
    head = ("workload", "product", "ceiling", "ratio", "target", "result")
    body = [(r.workload, r.product, r.ceiling, f"{r.ratio:.2f}x" if r.ratio is not None else "-", r.target,
             {True: "PASS", False: "MISS", None: "n/a"}[r.ok]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body]
    for r in rows:
        for n in r.notes:
            out.append(f"  {r.workload}: {n}")
    return "\n".join(out)
