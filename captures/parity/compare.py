#!/usr/bin/env python3
"""Compare our exporter's exposition with the reference's (a parity fixture's expected.prom).

Usage: compare.py OURS.prom EXPECTED.prom [--ignore REGEX ...] [--sum-tolerance S] [--quiet]

Family by family, label set by label set: counter values equal, histogram
_count equal and every bucket's cumulative count equal (buckets matched by the
numeric value of `le`, so "100" and "100.0" are the same bucket; a different
spelling is reported as a note). `_created` samples are ignored; `_sum` is
only compared when --sum-tolerance is given (timing differs by microseconds).
Families that only one side has are ignored when they are self-metrics
(channel_exporter_*, python_*, process_*, or --ignore); any other family with
samples on one side only is a mismatch. Exit status: 0 equal, 1 mismatch,
2 usage or parse error. Standard library only, Python 3.8+.
"""
import argparse
import math
import re
import sys
from collections import defaultdict

SELF_METRICS = [r"channel_exporter_.*", r"python_.*", r"process_.*", r"promhttp_.*", r"go_.*"]

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\S+)?\s*$")
_SUFFIXES = {
    "histogram": ("_bucket", "_count", "_sum"),
    "counter": ("_total",),
    "summary": ("_count", "_sum"),
    "gauge": (),
    "untyped": (),
    "unknown": (),
}


class ParseError(Exception):
    pass


def _parse_labels(text, line_no):
    """Parse `{a="x",b="y\\"z"}` into a dict, undoing the exposition escapes (\\\\, \\", \\n)."""
    labels = {}
    i, n = 1, len(text) - 1            # inside the braces
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        if i >= n:
            break
        eq = text.index("=", i)
        name = text[i:eq].strip()
        if text[eq + 1] != '"':
            raise ParseError("line %d: label %s has no quoted value" % (line_no, name))
        j = eq + 2
        value = []
        while True:
            if j >= len(text):
                raise ParseError("line %d: unterminated label value" % line_no)
            c = text[j]
            if c == "\\":
                nxt = text[j + 1]
                value.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
                j += 2
            elif c == '"':
                j += 1
                break
            else:
                value.append(c)
                j += 1
        labels[name] = "".join(value)
        i = j
    return labels


def _float(text):
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(text, None) or float(text)


def _canonical(name, ftype):
    """Counters are keyed without `_total` so `# TYPE x counter` and `# TYPE x_total counter` meet."""
    return name[:-len("_total")] if ftype == "counter" and name.endswith("_total") else name


def parse(text):
    """Exposition text -> {family: {"type": t, "name": shown name, "series": {labelset: {...}}}}.

    A series holds "value" (counter/gauge), or "count", "sum" and "buckets"
    ({le float: (count, le text)}) for histograms. A labelset is a sorted
    tuple of (name, value) without `le`. `_created` samples and families are
    dropped (optional in the contract).
    """
    types = {}
    samples = []
    for line_no, line in enumerate(text.split("\n"), 1):     # only \n ends a line (a label may hold \r, U+2028)
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE" and not parts[2].endswith("_created"):
                ftype = parts[3].strip()
                types[_canonical(parts[2], ftype)] = ftype
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ParseError("line %d: not a sample: %r" % (line_no, line[:120]))
        name, labels, value = m.group(1), m.group(2), m.group(3)
        if name.endswith("_created"):
            continue
        samples.append((line_no, name, _parse_labels(labels, line_no) if labels else {}, value))

    # Samples without a TYPE line: infer histograms from `_bucket{le=...}` and counters from `_total`.
    for _line_no, name, labels, _value in samples:
        if name.endswith("_bucket") and "le" in labels and not any(
                name == f + "_bucket" or name == f for f in types):
            types.setdefault(name[:-len("_bucket")], "histogram")
    for _line_no, name, labels, _value in samples:
        if name.endswith("_total") and not any(
                name == f + sfx for f, t in types.items() for sfx in ("",) + _SUFFIXES.get(t, ())):
            types.setdefault(name[:-len("_total")], "counter")

    families = {fam: {"type": ftype, "series": {},
                      "name": fam + "_total" if ftype == "counter" else fam}
                for fam, ftype in types.items()}

    def family_of(sample_name):
        if sample_name in types:
            return sample_name, ""
        for fam, ftype in types.items():
            for suffix in _SUFFIXES.get(ftype, ()):
                if sample_name == fam + suffix:
                    return fam, suffix
        return sample_name, ""          # untyped sample

    for line_no, name, labels, value in samples:
        fam, suffix = family_of(name)
        entry = families.setdefault(fam, {"type": "untyped", "series": {}, "name": fam})
        le = labels.pop("le", None) if suffix == "_bucket" else None
        key = tuple(sorted(labels.items()))
        series = entry["series"].setdefault(key, {"buckets": {}})
        try:
            number = _float(value)
        except ValueError:
            raise ParseError("line %d: bad value %r" % (line_no, value))
        if suffix == "_bucket":
            if le is None:
                raise ParseError("line %d: bucket without le" % line_no)
            series["buckets"][_float(le)] = (number, le)
        elif suffix == "_count":
            series["count"] = number
        elif suffix == "_sum":
            series["sum"] = number
        else:
            series["value"] = number
    return families


def _show(labelset, width=110):
    text = ",".join('%s="%s"' % (k, v.encode("unicode_escape").decode("ascii").replace('"', '\\"'))
                    for k, v in labelset if k not in ("appid", "application"))
    return text if len(text) <= width else text[:width - 3] + "..."


def _same(a, b):
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def compare_series(ftype, ours, expected, sum_tolerance):
    """Differences between one label set's samples on both sides, as text."""
    problems, notes = [], []
    if ftype == "histogram":
        if not _same(ours.get("count"), expected.get("count")):
            problems.append("count %s != %s" % (ours.get("count"), expected.get("count")))
        for le in sorted(set(ours["buckets"]) | set(expected["buckets"])):
            o, e = ours["buckets"].get(le), expected["buckets"].get(le)
            if o is None or e is None:
                problems.append("bucket le=%s only in %s" % ((o or e)[1], "ours" if e is None else "expected"))
            elif o[0] != e[0]:
                problems.append("bucket le=%s: %g != %g" % (e[1], o[0], e[0]))
            elif o[1] != e[1]:
                notes.append("le spelled %r, reference %r" % (o[1], e[1]))
        if sum_tolerance is not None and "sum" in expected:
            if abs(ours.get("sum", math.inf) - expected["sum"]) > sum_tolerance:
                problems.append("sum %s vs %s" % (ours.get("sum"), expected["sum"]))
    elif not _same(ours.get("value"), expected.get("value")):
        problems.append("value %s != %s" % (ours.get("value"), expected.get("value")))
    return problems, notes


def _total(ftype, series):
    return series.get("count") if ftype == "histogram" else series.get("value")


def compare(ours, expected, ignore, sum_tolerance):
    """Returns (rows, mismatches): rows = (family, labelset text, ours, expected, verdict)."""
    ignored = [re.compile(p + r"\Z") for p in SELF_METRICS + ignore]
    rows, mismatches = [], 0
    for fam in sorted(set(ours) | set(expected)):
        if any(p.match(fam) or p.match(fam + "_total") for p in ignored):
            continue
        o_fam = ours.get(fam, {"type": None, "series": {}, "name": fam})
        e_fam = expected.get(fam, {"type": None, "series": {}, "name": fam})
        shown = e_fam["name"] if fam in expected else o_fam["name"]
        if fam not in ours and e_fam["series"]:
            rows.append((shown, "(family missing in ours)", "-", str(len(e_fam["series"])), "MISMATCH"))
            mismatches += 1
            continue
        if fam not in expected and o_fam["series"]:
            rows.append((shown, "(family only in ours)", str(len(o_fam["series"])), "-", "MISMATCH"))
            mismatches += 1
            continue
        if o_fam["type"] and e_fam["type"] and o_fam["type"] != e_fam["type"]:
            rows.append((shown, "(type %s vs %s)" % (o_fam["type"], e_fam["type"]), "", "", "MISMATCH"))
            mismatches += 1
        ftype = e_fam["type"] or o_fam["type"]
        for key in sorted(set(o_fam["series"]) | set(e_fam["series"])):
            o, e = o_fam["series"].get(key), e_fam["series"].get(key)
            if o is None or e is None:
                rows.append((shown, _show(key), "-" if o is None else "%g" % _total(ftype, o),
                             "-" if e is None else "%g" % _total(ftype, e), "MISMATCH (label set)"))
                mismatches += 1
                continue
            problems, notes = compare_series(ftype, o, e, sum_tolerance)
            verdict = "MISMATCH: " + "; ".join(problems) if problems else "ok" + (
                " (" + "; ".join(sorted(set(notes))) + ")" if notes else "")
            mismatches += bool(problems)
            rows.append((shown, _show(key), "%g" % _total(ftype, o), "%g" % _total(ftype, e), verdict))
    return rows, mismatches


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ours")
    ap.add_argument("expected")
    ap.add_argument("--ignore", action="append", default=[], help="regex of families to ignore")
    ap.add_argument("--sum-tolerance", type=float, default=None,
                    help="also compare _sum within this absolute tolerance")
    ap.add_argument("--quiet", action="store_true", help="print only mismatching rows and the verdict")
    args = ap.parse_args(argv)
    try:
        with open(args.ours, encoding="utf-8", newline="") as f:
            ours = parse(f.read())
        with open(args.expected, encoding="utf-8", newline="") as f:
            expected = parse(f.read())
    except (OSError, ParseError, UnicodeDecodeError) as error:
        print("compare.py: %s" % error, file=sys.stderr)
        return 2
    rows, mismatches = compare(ours, expected, args.ignore, args.sum_tolerance)
    fam_width = max([len(r[0]) for r in rows] + [6])
    print("%-*s  %-60s %7s %8s  %s" % (fam_width, "family", "labels (appid/application omitted)",
                                       "ours", "expected", "verdict"))
    for fam, labels, o, e, verdict in rows:
        if args.quiet and verdict.startswith("ok"):
            continue
        print("%-*s  %-60s %7s %8s  %s" % (fam_width, fam, labels, o, e, verdict))
    print("%d label sets compared, %d mismatching" % (len(rows), mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
