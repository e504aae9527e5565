"""Plain findings from a run's health records: which layer, what the records show, and a likely remedy.

Each rule reads health.csv rows (nnctl.health.log) and, for its remedy, the run's config. The thresholds:

    vanishing     an output's std below VANISH_SHARE (1e-3) of the input's std, at the first record and at
                  the latest one (judged at both so that batch norm, whose evaluation-mode statistics only
                  settle after some steps, cannot raise it alone)
    exploding     an output's std above EXPLODE_FACTOR (1e3) times the input's std, at the first record and at
                  the latest one
    saturated     more than SATURATED_SHARE (50%) of a tanh or sigmoid layer's outputs saturated (slope below
                  2% of its largest), at the first record or over the last quarter of the records
    dead          more than DEAD_SHARE (50%) of a ReLU layer's units never active on the probe sample over the
                  last quarter of the records
    too fast      a weight tensor's median update/weight ratio over the records above UPDATE_HIGH (0.1: each
                  step changes the weights by a tenth of their size; the rule of thumb is about 1e-3)
    too slow      a weight tensor's median update/weight ratio below UPDATE_LOW (1e-6)
    not finite    an output or a gradient that became NaN or infinite

Layers with the same finding are named together in one line.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from nnctl.config.sections import ResolvedConfig
from nnctl.health.measure import SATURATION_SLOPE

VANISH_SHARE = 1e-3
EXPLODE_FACTOR = 1e3
SATURATED_SHARE = 0.5
DEAD_SHARE = 0.5
UPDATE_HIGH = 1e-1
UPDATE_LOW = 1e-6
LATE_SHARE = 0.25          # "the last quarter of the records"
RULE_OF_THUMB = 1e-3


@dataclass
class Finding:
    """One finding: `kind` (vanishing, exploding, saturated, dead, update_high, update_low, not_finite),
    the `layers` it concerns, the `evidence` and a likely `remedy`, all in words."""

    kind: str
    layers: list[str]
    evidence: str
    remedy: str

    def text(self) -> str:
        return f"{name_list(self.layers)}: {self.evidence}; {self.remedy}"


def short(x: float) -> str:
    """A number for a sentence: two significant digits in [1e-3, 100) (0.031, 1.5, 42), else a power of ten
    with one or two digits (6e-4, 1.2e-5, 2e3)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if 1e-3 <= abs(x) < 100:
        return f"{x:.2g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def name_list(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    if len(names) > 4:
        return f"{names[0]} ... {names[-1]} ({len(names)} layers)"
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def since(points: list[tuple[float, float]], holds) -> int:
    """The 1-based epoch from which `holds(value)` is true at every later record."""
    start = len(points)
    while start > 0 and holds(points[start - 1][1]):
        start -= 1
    return int(points[min(start, len(points) - 1)][0]) + 1


class Records:
    """health.csv rows arranged by (node, tensor): each a series of rows in record order; nodes in network
    order."""

    def __init__(self, rows: list[dict]):
        self.series: dict[tuple[str, str], list[dict]] = {}
        self.order: list[str] = []
        for r in rows:
            self.series.setdefault((r["node"], r["tensor"]), []).append(r)
            if r["node"] not in self.order:
                self.order.append(r["node"])

    def outputs(self) -> list[tuple[str, list[dict]]]:
        return [(n, self.series[(n, "output")]) for n in self.order if (n, "output") in self.series and n != "input"]

    def weights(self) -> list[tuple[str, list[dict]]]:
        return [(f"{n}.{t}", rs) for (n, t), rs in self.series.items() if t != "output" and rs[0].get("weight") == 1]

    def late(self, rows: list[dict]) -> list[dict]:
        """The rows of the last LATE_SHARE of the records (at least the last one)."""
        return rows[-max(1, math.ceil(len(rows) * LATE_SHARE)):]

    def input_std(self, index: int) -> float:
        rows = self.series.get(("input", "output"))
        return rows[index]["std"] if rows and rows[index]["std"] else 1.0


def find(rows: list[dict], config: ResolvedConfig | None) -> list[Finding]:
    """Every finding for a run's health rows (empty when nothing looks wrong)."""
    if not rows:
        return []
    records = Records(rows)
    found = [not_finite(records), vanishing(records, config), exploding(records, config),
             saturated(records, config), dead(records), update_high(records, config), update_low(records)]
    return [f for f in found if f is not None]


# ---------------------------------------------------------------------------------------------- rules

def scale_remedy(config: ResolvedConfig | None, node: str, too: str, otherwise: str) -> str:
    """'weight_scale 0.001 is too small; ...' when every layer of the config's model up to `node` that draws
    initial weights uses init: normal with one weight_scale, else `otherwise`."""
    inits = set()
    for spec in config.model["layers"] if config is not None else []:
        if "init" in spec:
            inits.add((spec["init"], spec.get("weight_scale")))
        if spec.get("name") == node:
            break
    if len(inits) == 1 and next(iter(inits))[0] == "normal":
        return f"weight_scale {short(next(iter(inits))[1])} is too {too}; use init: he (ReLU) or xavier (tanh, sigmoid)"
    return otherwise


def vanishing(records: Records, config: ResolvedConfig | None) -> Finding | None:
    small = [(n, rs[0]["std"], rs[-1]["std"]) for n, rs in records.outputs()
             if rs[0]["std"] is not None and rs[-1]["std"] is not None
             and rs[0]["std"] < VANISH_SHARE * records.input_std(0)
             and rs[-1]["std"] < VANISH_SHARE * records.input_std(-1)]
    if not small:
        return None
    first, start, end = small[0]
    smallest = min(small, key=lambda s: s[1])
    evidence = (f"activations vanish from here on: std {short(start)} at the start and {short(end)} at the end "
                f"(input std {short(records.input_std(0))}; smallest {short(smallest[1])} at {smallest[0]})")
    remedy = scale_remedy(config, first, "small",
                          "the initial weights are too small: use init: he (ReLU) or xavier (tanh), or batch norm")
    return Finding("vanishing", [first], evidence, remedy)


def exploding(records: Records, config: ResolvedConfig | None) -> Finding | None:
    large = [(n, rs[0]["std"], rs[-1]["std"]) for n, rs in records.outputs()
             if rs[0]["std"] is not None and rs[-1]["std"] is not None
             and rs[0]["std"] > EXPLODE_FACTOR * records.input_std(0)
             and rs[-1]["std"] > EXPLODE_FACTOR * records.input_std(-1)]
    if not large:
        return None
    first, start, end = large[0]
    evidence = (f"activations explode from here on: std {short(start)} at the start and {short(end)} at the end "
                f"(input std {short(records.input_std(0))})")
    remedy = scale_remedy(config, first, "large",
                          "the initial weights are too large: use init: he (ReLU) or xavier (tanh), or batch norm")
    return Finding("exploding", [first], evidence, remedy)


def share_of(hit: list[tuple], index: int) -> tuple[str, tuple]:
    """'97%' for one layer, 'up to 97% (tanh3)' for several: the largest value at `index` of the hits."""
    worst = max(hit, key=lambda h: h[index])
    if len(hit) == 1:
        return f"{100 * worst[index]:.0f}%", worst
    return f"up to {100 * worst[index]:.0f}% ({worst[0]})", worst


def saturated(records: Records, config: ResolvedConfig | None) -> Finding | None:
    hit = []
    for node, rs in records.outputs():
        shares = [r["saturated"] for r in rs]
        if shares[0] is None:
            continue
        at_start = shares[0] > SATURATED_SHARE
        if at_start or min(r["saturated"] for r in records.late(rs)) > SATURATED_SHARE:
            hit.append((node, shares[0], shares[-1], at_start,
                        since([(r["epoch"], r["saturated"]) for r in rs], lambda v: v > SATURATED_SHARE)))
    if not hit:
        return None
    nodes = [h[0] for h in hit]
    slope = f"slope below {SATURATION_SLOPE:.0%} of the largest"
    if any(h[3] for h in hit):
        start, worst = share_of(hit, 1)
        evidence = f"{start} of outputs saturated at the start ({slope}), {100 * worst[2]:.0f}% at the end"
        remedy = scale_remedy(config, nodes[0], "large",
                              "the pre-activations are too large: use init: xavier, or batch norm before the activation")
    else:
        end, worst = share_of(hit, 2)
        evidence = f"{end} of outputs saturated since epoch {worst[4]} ({slope})"
        remedy = "lower the learning rate, or put batch norm before the activation"
    return Finding("saturated", nodes, evidence, remedy)


def dead(records: Records) -> Finding | None:
    hit = []
    for node, rs in records.outputs():
        if rs[0]["dead"] is None:
            continue
        if min(r["dead"] for r in records.late(rs)) > DEAD_SHARE:
            hit.append((node, rs[-1]["dead"], since([(r["epoch"], r["dead"]) for r in rs], lambda v: v > DEAD_SHARE),
                        rs[0]["dead"] > DEAD_SHARE))
    if not hit:
        return None
    share, worst = share_of(hit, 1)
    nodes = [h[0] for h in hit]
    if all(h[3] for h in hit):
        return Finding("dead", nodes, f"{share} of ReLU units dead from the start",
                       "check the initialization (a large weight scale or negative biases), or use leaky_relu")
    return Finding("dead", nodes, f"{share} of ReLU units dead since epoch {worst[2]}",
                   "lower the learning rate or use leaky_relu")


def median_ratio(rows: list[dict]) -> float | None:
    values = [r["update_ratio"] for r in rows if r.get("update_ratio") is not None and math.isfinite(r["update_ratio"])]
    return statistics.median(values) if values else None


def ratio_evidence(hit: list[tuple[str, float]], worst: tuple[str, float], bound: str, tail: str) -> str:
    """'update/weight ratio 0.2 (median over training...)', or for several layers 'update/weight ratio up to
    0.88 (dense4; median over training...)'."""
    if len(hit) == 1:
        return f"update/weight ratio {short(worst[1])} (median over training{tail})"
    return f"update/weight ratio {bound} {short(worst[1])} ({worst[0].rsplit('.', 1)[0]}; median over training{tail})"


def update_high(records: Records, config: ResolvedConfig | None) -> Finding | None:
    hit = [(w, m) for w, rs in records.weights() if (m := median_ratio(rs)) is not None and m > UPDATE_HIGH]
    if not hit:
        return None
    worst = max(hit, key=lambda h: h[1])
    lr = config.optimizer["lr"] if config is not None else None
    return Finding("update_high", [h[0].rsplit(".", 1)[0] for h in hit],
                   ratio_evidence(hit, worst, "up to", f"; rule of thumb {short(RULE_OF_THUMB)}"),
                   "the learning rate" + (f" {short(lr)}" if lr is not None else "") + " is likely too high")


def update_low(records: Records) -> Finding | None:
    hit = [(w, m) for w, rs in records.weights() if (m := median_ratio(rs)) is not None and m < UPDATE_LOW]
    if not hit:
        return None
    worst = min(hit, key=lambda h: h[1])
    return Finding("update_low", [h[0].rsplit(".", 1)[0] for h in hit],
                   ratio_evidence(hit, worst, "down to", "") + ": the weights barely move",
                   "the learning rate is too low, or the gradients vanish before they reach these layers")


def not_finite(records: Records) -> Finding | None:
    for node, rs in records.outputs():
        for r in rs:
            if r["std"] is None or not math.isfinite(r["std"]) or not math.isfinite(r["mean"]):
                return Finding("not_finite", [node], f"outputs became NaN or infinite at epoch {int(r['epoch']) + 1}",
                               "the learning rate is likely too high (or clip gradients: optimizer.clip_norm)")
    return None
