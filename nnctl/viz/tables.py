"""Tables for people: plain text for the terminal, Markdown for reports. Confusion matrices in both."""

from __future__ import annotations


def align(rows: list[list[str]], indent: str = "", rule: bool = False) -> list[str]:
    """Lines of `rows` (the first one the header) with every column left-aligned; with `rule`, a line of
    dashes under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if rule:
        lines.insert(1, indent + "  ".join("-" * w for w in widths))
    return lines


def markdown_table(rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown table; the first row is the header. Pipes inside cells are escaped."""
    cells = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in cells[1:]]


def confusion_text(confusion: list[list[int]], names: list[str] | None) -> str:
    """The confusion matrix as right-aligned text columns (rows: true class, columns: predicted)."""
    names = [str(n)[:11] for n in (names or range(len(confusion)))]
    width = max(5, max(len(n) for n in names), max(len(str(v)) for row in confusion for v in row))
    lines = ["confusion matrix (rows: true, columns: predicted)",
             " " * (width + 1) + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, confusion):
        lines.append(name.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def confusion_markdown(confusion: list[list[int]], names: list[str] | None) -> list[str]:
    """The confusion matrix as Markdown lines, true class in bold at the start of each row."""
    names = names or [str(i) for i in range(len(confusion))]
    rows = [["true \\ predicted", *names]] + [[f"**{name}**", *map(str, row)] for name, row in zip(names, confusion)]
    return markdown_table(rows)


def per_class_rows(result: dict, names: list[str] | None) -> list[list[str]]:
    """Rows of a per-class table from an evaluation's JSON (precision, recall, f1, support lists): a header,
    one row per class, then the macro and support-weighted F1. Figures to 4 places; '—' where undefined."""
    def show(value) -> str:
        return "—" if value is None else f"{value:.4f}"

    names = names or [str(i) for i in range(len(result["support"]))]
    rows = [["class", "precision", "recall", "F1", "support"]]
    rows += [[str(name), show(p), show(r), show(f), str(s)] for name, p, r, f, s in
             zip(names, result["precision"], result["recall"], result["f1"], result["support"])]
    total = str(sum(result["support"]))
    rows += [["macro F1", "", "", show(result["macro_f1"]), total],
             ["weighted F1", "", "", show(result["weighted_f1"]), total]]
    return rows
