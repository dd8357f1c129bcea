"""The benchmark's results: medians with min–max, the target ratios, as markdown, JSON and a PNG chart."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One run of one tool."""

    pages: int
    wall_s: float
    cpu_s: float
    main_rss_mb: float
    fetched_mb: float
    written_mb: float
    exit_code: int

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.fetched_mb / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.pages if self.pages else 0.0


@dataclass
class Series:
    key: str
    label: str
    samples: list[Sample] = field(default_factory=list)

    def spread(self, metric: str) -> tuple[float, float, float]:
        values = [getattr(sample, metric) for sample in self.samples]
        return statistics.median(values), min(values), max(values)


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    wanted: str
    met: bool


def _cell(series: Series, metric: str, digits: int = 1) -> str:
    median, low, high = series.spread(metric)
    return f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def markdown(header: str, tools: list[Series], extra: list[str], targets: list[Target]) -> str:
    lines = [header, "", "| tool | pages | pages/s | MB/s fetched | CPU ms/page | main RSS MB |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for series in tools:
        if not series.samples:
            continue
        pages = int(statistics.median(s.pages for s in series.samples))
        lines.append(
            f"| {series.label} | {pages} | {_cell(series, 'pages_per_s')} | "
            f"{_cell(series, 'mb_per_s')} | {_cell(series, 'cpu_ms_per_page')} | "
            f"{_cell(series, 'main_rss_mb', 0)} |"
        )
    lines += ["", *extra, "", "| target | measured | wanted | met |", "|---|---|---|---|"]
    for target in targets:
        lines.append(
            f"| {target.name} | {target.measured:.2f} | {target.wanted} | "
            f"{'yes' if target.met else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    def encode(value: Any) -> Any:
        if isinstance(value, Series):
            return {"key": value.key, "label": value.label,
                    "samples": [{**asdict(s), "pages_per_s": s.pages_per_s} for s in value.samples]}  # fmt: skip
        if isinstance(value, Target):
            return asdict(value)
        raise TypeError(type(value))

    path.write_text(json.dumps(payload, indent=2, default=encode) + "\n")


def chart(path: Path, title: str, tools: list[Series]) -> None:
    """Pages per second of each tool: bars at the median, whiskers from min to max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [series for series in tools if series.samples]
    medians, lows, highs = zip(*(s.spread("pages_per_s") for s in shown), strict=True)
    errors = [[m - lo for m, lo in zip(medians, lows, strict=True)],
              [hi - m for m, hi in zip(medians, highs, strict=True)]]  # fmt: skip
    figure, axes = plt.subplots(figsize=(9, 4.5))
    axes.barh([s.label for s in shown], medians, xerr=errors, color="#4a7ab5", capsize=4)
    axes.invert_yaxis()
    axes.set_xlabel("pages per second (median, min–max)")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
