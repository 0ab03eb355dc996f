"""Score a labelled corpus with our detector and with the RITA reference (test-only helper)."""

from __future__ import annotations

from dataclasses import dataclass, field

from notaus.controller.detection.analyzer import Analyzer, Detection
from notaus.controller.detection.flows import PROTO_NAMES, ip_text
from notaus.controller.detection.rita_reference import rita_score

from .corpus import Corpus, Label


@dataclass
class Outcome:
    name: str
    beacons: int = 0
    found: int = 0
    false_alerts: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.beacons if self.beacons else 0.0


def _beacon_hit(label: Label, scores: dict[tuple[str, str, int, str], float],
                by_name: dict[tuple[str, str], float], threshold: float) -> bool:
    if label.dst is None:
        return by_name.get((label.src, label.name or ""), 0.0) >= threshold
    return scores.get((label.src, label.dst, label.dst_port, label.proto), 0.0) >= threshold


def evaluate_ours(corpus: Corpus, analyzer: Analyzer, threshold: float) -> tuple[Outcome, list[Detection]]:
    dets = analyzer.detections()
    pair_scores: dict[tuple[str, str, int, str], float] = {}
    name_scores: dict[tuple[str, str], float] = {}
    for d in dets:
        if d.kind != "beacon":
            continue
        k = (d.src, d.dst, d.dst_port, d.proto)
        pair_scores[k] = max(pair_scores.get(k, 0.0), d.score)
        if d.name:
            name_scores[(d.src, d.name)] = max(name_scores.get((d.src, d.name), 0.0), d.score)
    out = Outcome("notaus")
    beacon_srcs = {lb.src for lb in corpus.labels if lb.kind == "beacon"}
    for lb in corpus.labels:
        if lb.kind == "beacon" and lb.callbacks >= 12:
            out.beacons += 1
            if _beacon_hit(lb, pair_scores, name_scores, threshold):
                out.found += 1
            else:
                out.missed.append(lb.profile)
    for d in dets:
        if d.score >= threshold and not d.allowed and d.src not in beacon_srcs:
            out.false_alerts.append(f"{d.kind} {d.src}->{d.dst}:{d.dst_port} {d.score:.2f}")
    return out, dets


def rita_pair_scores(analyzer: Analyzer) -> tuple[dict[tuple[str, str, int, str], float],
                                                 dict[tuple[str, str], float]]:
    """RITA v5's selection and grouping over our flow table (see ``rita_reference``).

    Connections carrying a name (SNI) are scored per (source, name) and left out of the address
    pair; the rest are grouped per (source, destination address) over all ports, as RITA's uconn
    hash does. Each per-port label is credited with the score of its address pair. The analyzer
    should keep enough timestamps per pair (RITA keeps up to 86,400): pass one built with a large ring.
    """
    t = analyzer.table
    ds_min, ds_max = t.first_ts or 0.0, t.last_ts
    by_addr: dict[tuple[str, str], tuple[list[float], list[float], list[tuple[int, str]]]] = {}
    groups: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for p in t.pairs.values():
        src, dst, proto = ip_text(p.src), ip_text(p.dst), PROTO_NAMES.get(p.proto, "?")
        if p.name:
            g = groups.setdefault((src, p.name), ([], []))
            g[0].extend(p.starts)
            g[1].extend(p.connection_sizes())
            continue
        a = by_addr.setdefault((src, dst), ([], [], []))
        a[0].extend(p.starts)
        a[1].extend(p.connection_sizes())
        a[2].append((p.dport, proto))
    pair_scores: dict[tuple[str, str, int, str], float] = {}
    for (src, dst), (ts, sizes, ports) in by_addr.items():
        r = rita_score(ts, sizes, ds_min, ds_max)
        if r is not None:
            for port, proto in ports:
                pair_scores[(src, dst, port, proto)] = r.score
    name_scores: dict[tuple[str, str], float] = {}
    for gkey, (ts, sizes) in groups.items():
        r = rita_score(ts, sizes, ds_min, ds_max)
        if r is not None:
            name_scores[gkey] = r.score
    return pair_scores, name_scores


def evaluate_rita(corpus: Corpus, analyzer: Analyzer, threshold: float) -> Outcome:
    """RITA on the same flow table: per address pair, plus per name (RITA v5 scores SNI beacons too)."""
    pair_scores, name_scores = rita_pair_scores(analyzer)
    allowed_srcs_dsts = {(ip_text(p.src), ip_text(p.dst), p.dport, PROTO_NAMES.get(p.proto, "?"))
                         for p in analyzer.table.pairs.values()
                         if analyzer.allowlist.match(ip_text(p.src), ip_text(p.dst), p.dport,
                                                     PROTO_NAMES.get(p.proto, "?"), p.name)}
    out = Outcome("RITA-v5-Referenz")
    beacon_srcs = {lb.src for lb in corpus.labels if lb.kind == "beacon"}
    for lb in corpus.labels:
        if lb.kind == "beacon" and lb.callbacks >= 12:
            out.beacons += 1
            if _beacon_hit(lb, pair_scores, name_scores, threshold):
                out.found += 1
            else:
                out.missed.append(lb.profile)
    for k, s in pair_scores.items():
        if s >= threshold and k[0] not in beacon_srcs and k not in allowed_srcs_dsts:
            out.false_alerts.append(f"beacon {k[0]}->{k[1]}:{k[2]} {s:.2f}")
    return out


@dataclass
class ClassRow:
    """Per beacon class: labelled beacons, found by us, found by RITA (at each threshold)."""

    cls: str
    beacons: int = 0
    ours: int = 0
    rita: dict[float, int] = field(default_factory=dict)


@dataclass
class MixResult:
    rows: list[ClassRow]
    ours_fp: list[str]
    rita_fp: dict[float, list[str]]
    hours: float
    not_dominated: list[str]          # beacons RITA scores >= 0.8 that we miss
    rita_fp_filtered: dict[float, list[str]] = field(default_factory=dict)   # ... with notaus' knowledge

    def f1(self, tp: int, fp: int) -> float:
        beacons = sum(r.beacons for r in self.rows)
        return 2 * tp / (2 * tp + fp + (beacons - tp)) if beacons else 0.0

    def ours_f1(self) -> float:
        return self.f1(sum(r.ours for r in self.rows), len(self.ours_fp))

    def rita_f1(self, thr: float, filtered: bool = False) -> float:
        fps = (self.rita_fp_filtered if filtered else self.rita_fp)[thr]
        return self.f1(sum(r.rita.get(thr, 0) for r in self.rows), len(fps))


def evaluate_mix(corpus: Corpus, ours: Analyzer, rita: Analyzer, threshold: float,
                 rita_thresholds: tuple[float, ...] = (0.7, 0.8, 0.9)) -> MixResult:
    """Recall per class, false alerts (distinct pairs) for us and for the RITA reference, same traffic.

    ``rita`` should have read the same capture with a large ring (RITA keeps all timestamps).
    """
    dets = ours.detections()
    pair_scores: dict[tuple[str, str, int, str], float] = {}
    name_scores: dict[tuple[str, str], float] = {}
    for d in dets:
        if d.kind != "beacon" or d.allowed:
            continue
        k = (d.src, d.dst, d.dst_port, d.proto)
        pair_scores[k] = max(pair_scores.get(k, 0.0), d.score)
        if d.name:
            name_scores[(d.src, d.name)] = max(name_scores.get((d.src, d.name), 0.0), d.score)
    r_pairs, r_names = rita_pair_scores(rita)
    beacon_srcs = {lb.src for lb in corpus.labels if lb.kind == "beacon"}
    rows: dict[str, ClassRow] = {}
    not_dominated: list[str] = []
    for lb in corpus.labels:
        if lb.kind != "beacon":
            continue
        row = rows.setdefault(lb.profile, ClassRow(lb.profile))
        row.beacons += 1
        hit = _beacon_hit(lb, pair_scores, name_scores, threshold)
        row.ours += hit
        for thr in rita_thresholds:
            row.rita[thr] = row.rita.get(thr, 0) + _beacon_hit(lb, r_pairs, r_names, thr)
        if not hit and _beacon_hit(lb, r_pairs, r_names, 0.8):
            not_dominated.append(f"{lb.profile} {lb.src}")
    ours_fp = sorted({f"{d.kind} {d.src}->{d.name or d.dst}:{d.dst_port}/{d.proto} {d.score:.2f}"
                      for d in dets if d.score >= threshold and not d.allowed and d.scope != "lan"
                      and d.src not in beacon_srcs})
    rita_fp = {thr: sorted(f"{k[0]}->{k[1]}:{k[2]}/{k[3]} {s:.2f}" for k, s in r_pairs.items()
                           if s >= thr and k[0] not in beacon_srcs) for thr in rita_thresholds}
    # RITA given the same knowledge notaus has (allowlist, protocol knowledge, LAN scope): what stays
    silent = {(d.src, d.dst, d.dst_port, d.proto) for d in dets if d.allowed or d.scope == "lan"}
    rita_fp_filtered = {thr: [f for f in rita_fp[thr] if _fp_key(f) not in silent] for thr in rita_thresholds}
    t = ours.table
    hours = ((t.last_ts - t.first_ts) / 3600) if t.first_ts is not None else 0.0
    return MixResult(list(rows.values()), ours_fp, rita_fp, hours, not_dominated, rita_fp_filtered)


def _fp_key(line: str) -> tuple[str, str, int, str]:
    pair = line.split()[0]
    src, rest = pair.split("->")
    dst, port_proto = rest.rsplit(":", 1)
    port, proto = port_proto.split("/")
    return src, dst, int(port), proto


def mix_table(name: str, res: MixResult, threshold: float) -> str:
    """The per-class table ``make bench`` prints (ours beside the RITA reference)."""
    thrs = sorted(next(iter(res.rows)).rita) if res.rows else []
    head = f"{'class':<20} {'n':>3}  {'notaus@' + format(threshold, '.2f'):>12}" + "".join(
        f"  {'RITA@' + format(t, '.2f'):>10}" for t in thrs)
    lines = [f"-- {name} mix ({res.hours:.0f} h) --", head]
    for r in res.rows:
        lines.append(f"{r.cls:<20} {r.beacons:>3}  {r.ours / r.beacons:>12.2f}" + "".join(
            f"  {r.rita[t] / r.beacons:>10.2f}" for t in thrs))
    per_day = 24 / res.hours if res.hours else 0.0
    lines.append(f"{'F1':<20} {'':>3}  {res.ours_f1():>12.2f}" + "".join(f"  {res.rita_f1(t):>10.2f}" for t in thrs))
    lines.append(f"{'benign alerts / 24 h':<20} {'':>3}  {len(res.ours_fp) * per_day:>12.1f}" + "".join(
        f"  {len(res.rita_fp[t]) * per_day:>10.1f}" for t in thrs))
    lines.append(f"{'RITA + our knowledge:':<20}")
    lines.append(f"{'  F1':<20} {'':>3}  {'':>12}" + "".join(f"  {res.rita_f1(t, True):>10.2f}" for t in thrs))
    lines.append(f"{'  benign alerts/24 h':<20} {'':>3}  {'':>12}" + "".join(
        f"  {len(res.rita_fp_filtered[t]) * per_day:>10.1f}" for t in thrs))
    if res.not_dominated:
        lines.append("RITA >= 0.8 but missed by notaus: " + ", ".join(res.not_dominated))
    for fp in res.ours_fp:
        lines.append(f"  notaus false alert: {fp}")
    return "\n".join(lines)
