"""The confusion matrix of ``verify --host`` as files, for ``--report-dir``.

``confusion.json`` always; ``confusion.png`` only where matplotlib (an
optional extra) is installed. Never written into the export folder: its
manifest lists only what export wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SbnError
from ..files import write_atomically


def write_report(report_dir: Path, result: dict) -> list[Path]:
    """Write the report files of a host verification; return their paths."""
    report_dir = Path(report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SbnError(f"cannot create {report_dir}: {err.strerror}; choose another --report-dir") from None
    names = [row["name"] for row in result["per_class"]]
    document = {"labels": names, "rows": "true class", "columns": "class the C predicted",
                "confusion": result["confusion"], "per_class": result["per_class"]}
    path = report_dir / "confusion.json"
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(document, indent=2) + "\n"))
    written = [path]
    try:
        import matplotlib
    except ImportError:
        return written
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(names), 1 + 0.6 * len(names)))
    ax.imshow(result["confusion"], cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted by the C")
    ax.set_ylabel("true class")
    for i, row in enumerate(result["confusion"]):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    png = report_dir / "confusion.png"
    write_atomically(png, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return [*written, png]
