"""One self-contained HTML page comparing runs (`nnctl compare RUN... --out FILE.html`): a table, one row per
run, sortable by clicking a column header, and pictures of overlaid curves carried inline as data: URIs.
No network, no server, no file beside it: it opens in any browser from anywhere.

    page(title, header, rows, pictures) -> str
      header    column names, e.g. ["run", "label", "status", "test acc", "lr"]
      rows      per run, per column: (text shown, sort value: a number, a string or None)
      pictures  (caption, PNG bytes) pairs
Clicking a header sorts by it (numbers as numbers, empty cells last); clicking it again reverses the order.
"""

from __future__ import annotations

import base64
import html
import json

SCRIPT = """
function sortTable(table, column) {
  var body = table.tBodies[0];
  var header = table.tHead.rows[0].cells[column];
  var descending = header.getAttribute("data-order") === "asc";
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("data-order"); });
  header.setAttribute("data-order", descending ? "desc" : "asc");
  var rows = Array.prototype.slice.call(body.rows);
  function key(row) {
    var raw = row.cells[column].getAttribute("data-sort");
    if (raw === null || raw === "") return null;
    var value = JSON.parse(raw);
    return value;
  }
  rows.sort(function (a, b) {
    var x = key(a), y = key(b);
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
  rows.forEach(function (row) { body.appendChild(row); });
}
document.addEventListener("DOMContentLoaded", function () {
  Array.prototype.forEach.call(document.querySelectorAll("table.runs"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, column) {
      cell.addEventListener("click", function () { sortTable(table, column); });
    });
  });
});
"""

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table.runs { border-collapse: collapse; font-size: 14px; }
table.runs th, table.runs td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
table.runs th { background: #eef; cursor: pointer; user-select: none; }
table.runs th[data-order="asc"]::after { content: " \\25B2"; }
table.runs th[data-order="desc"]::after { content: " \\25BC"; }
figure { display: inline-block; margin: 1em 1em 0 0; }
"""


def sort_attribute(value) -> str:
    """The data-sort attribute's JSON: a finite number, a string, or empty (sorted last)."""
    if value is None or (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
        return ""
    if isinstance(value, bool):
        value = str(value).lower()
    return json.dumps(value)


def table_html(header: list[str], rows: list[list[tuple[str, object]]]) -> list[str]:
    lines = ['<table class="runs">', "<thead><tr>"]
    lines += [f'<th title="click to sort">{html.escape(name)}</th>' for name in header]
    lines += ["</tr></thead>", "<tbody>"]
    for row in rows:
        cells = "".join(f'<td data-sort="{html.escape(sort_attribute(value))}">{html.escape(text)}</td>'
                        for text, value in row)
        lines.append(f"<tr>{cells}</tr>")
    return lines + ["</tbody>", "</table>"]


def page(title: str, header: list[str], rows: list[list[tuple[str, object]]],
         pictures: list[tuple[str, bytes]], notes: list[str] = ()) -> str:
    """The whole HTML document as text (see the module's docstring)."""
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", f"<script>{SCRIPT}</script>",
             "</head>", "<body>", f"<h1>{html.escape(title)}</h1>",
             "<p>Click a column header to sort by it (again to reverse).</p>"]
    lines += table_html(header, rows)
    lines += [f"<p>{html.escape(note)}</p>" for note in notes]
    for caption, png in pictures:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        lines.append(f'<figure><img alt="{html.escape(caption)}" src="{uri}"></figure>')
    return "\n".join(lines + ["</body>", "</html>", ""])
