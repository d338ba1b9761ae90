"""Reporting: the printed tables, the summary and targets, the plot and the Markdown tables."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.suite.timing import NUMPY_MIN, READ_CASES


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.2f} µs"
    if s < 1.0:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.3f} s "


def print_results(title: str, rows: list[dict[str, Any]], baseline_name: str | None) -> None:
    print(f"\n== {title} ==  [{time.strftime('%H:%M:%S')}]")
    head = f"{'contender':44s} {'median':>11s} {'min':>11s} {'max':>11s}"
    if baseline_name:
        head += f" {'ratio':>7s} {'(mins)':>7s}"
    if any(r.get("bandwidth_fraction") for r in rows):
        head += f" {'of BW limit':>11s}"
    print(head)
    for r in rows:
        line = f"{r['name']:44s} {fmt_time(r['median_s'])} {fmt_time(r['min_s'])} {fmt_time(r['max_s'])}"
        if baseline_name:
            line += f" {r['ratio']:7.2f} {r['ratio_of_mins']:7.2f}" if r["ratio"] is not None else f" {'':15s}"
        if r.get("bandwidth_fraction"):
            line += f" {r['bandwidth_fraction']:11.2f}"
        print(line)


# -- summary -------------------------------------------------------------------------------------


def loglog_slope(points: list[tuple[int, float]]) -> float | None:
    pts = [(n, t) for n, t in points if t > 0]
    if len(pts) < 2:
        return None
    xs = np.log([p[0] for p in pts])
    ys = np.log([p[1] for p in pts])
    return float(np.polyfit(xs, ys, 1)[0])


def find(groups: list[dict[str, Any]], kind: str, name: str, **params: Any) -> dict[str, Any] | None:
    for g in groups:
        if g["kind"] == kind and all(g.get(k) == v for k, v in params.items()):
            for r in g["results"]:
                if r["name"] == name:
                    return dict(r)
    return None


#: The manual loop's ≤ 1.3× numpy-min goal covers every float64 step group up to this many rows (2e5×100×1).
MANUAL_MAX_N = 200_000


def summary(groups: list[dict[str, Any]], memory: dict[str, Any], sweep: list[int]) -> dict[str, Any]:
    """Slopes, float32 speed-up and the targets of issue 4, each with its measured value."""
    fit_name, man_name = "minigrad fit (per epoch)", "minigrad manual loop"
    out: dict[str, Any] = {"slopes": {}, "slopes_out_of_cache": {}, "float32_speedup": {}, "targets": []}
    print("\n== summary ==")
    for dtype in ("float64", "float32"):
        for name in (fit_name, NUMPY_MIN, *READ_CASES):
            pts = []
            for n in sweep:
                r = find(groups, "step", name, n=n, d=100, o=1, dtype=dtype)
                if r:
                    pts.append((n, r["median_s"]))
            s = loglog_slope(pts)
            if s is not None:
                out["slopes"][f"{name} {dtype}"] = s
                print(f"log-log slope of time vs N ({sweep[0]:g}..{sweep[-1]:g}), {name}, {dtype}: {s:.3f}")
            big_pts = [(n, t) for n, t in pts if n >= 100_000]  # X far beyond the caches
            s_big = loglog_slope(big_pts) if len(big_pts) >= 2 else None
            if s_big is not None:
                out["slopes_out_of_cache"][f"{name} {dtype}"] = s_big
                print(f"  ... from {big_pts[0][0]:g} to {big_pts[-1][0]:g} (X out of cache): {s_big:.3f}")
    big = sweep[-1]
    for name in (fit_name, NUMPY_MIN):
        r64 = find(groups, "step", name, n=big, d=100, o=1, dtype="float64")
        r32 = find(groups, "step", name, n=big, d=100, o=1, dtype="float32")
        if r64 and r32:
            sp = r64["median_s"] / r32["median_s"]
            out["float32_speedup"][name] = sp
            print(f"float32 speed-up at N={big}, {name}: {sp:.2f}×")

    def target(label: str, value: float | None, limit: float, higher_is_better: bool = False) -> None:
        if value is None:
            return
        ok = value >= limit if higher_is_better else value <= limit
        rel = "≥" if higher_is_better else "≤"
        out["targets"].append({"target": label, "value": value, "limit": limit, "ok": ok})
        print(f"  {'ok  ' if ok else 'MISS'} {label}: {value:.3f} (target {rel} {limit:g})")

    def ratio(kind: str, name: str, **params: Any) -> float | None:
        r = find(groups, kind, name, **params)
        return r["ratio"] if r else None

    print("targets (informational; nothing is asserted):")
    for n, d, o, limit in (
        (1, 1, 1, 1.5),
        (32, 10, 1, 1.5),
        (1000, 100, 10, 1.15),
        (200_000, 100, 1, 1.05),
        (1_000_000, 100, 1, 1.05),
        (sweep[-1], 100, 1, 1.05),
    ):
        for dtype in ("float64", "float32"):
            label = f"fit/numpy-min {n}x{d}x{o} {dtype}"
            if not any(t["target"] == label for t in out["targets"]):
                target(label, ratio("step", fit_name, n=n, d=d, o=o, dtype=dtype), limit)
    # the manual loop as a newcomer writes it: ≤ 1.3× numpy-min at every size from 1×1×1 to 2e5×100×1
    for g in groups:
        if g["kind"] == "step" and g["dtype"] == "float64" and g["n"] <= MANUAL_MAX_N:
            n, d, o = g["n"], g["d"], g["o"]
            value = ratio("step", man_name, n=n, d=d, o=o, dtype="float64")
            target(f"manual/numpy-min {n}x{d}x{o} float64", value, 1.3)
    tname = "torch nn.Linear+MSELoss+SGD"
    for n, d, o, limit in ((1, 1, 1, 10.0), (32, 10, 1, 10.0), (1000, 100, 10, 1.0), (sweep[-1], 100, 1, 1.5)):
        for dtype in ("float64", "float32"):
            t = find(groups, "step", tname, n=n, d=d, o=o, dtype=dtype)
            f = find(groups, "step", fit_name, n=n, d=d, o=o, dtype=dtype)
            if t and f:
                target(f"torch/fit {n}x{d}x{o} {dtype}", t["median_s"] / f["median_s"], limit, higher_is_better=True)
    target("seed fit / pure-Python loop", ratio("seed", "minigrad fit (73 epochs, tol=0)"), 150.0)
    for r in memory.get("results", []):
        if "full batch" in r["name"]:
            target(f"extra memory / X: {r['name']}", r["ratio"], 0.05)
    for key, s in out["slopes"].items():
        if key.startswith(fit_name):
            target(f"slope {key}", s, 1.1)
            target(f"slope {key} (lower bound)", s, 0.9, higher_is_better=True)
    for g in groups:
        if g["kind"] == "minibatch":
            for r in g["results"]:
                if r["name"].startswith("minigrad"):
                    target(f"mini-batch {g['batch_size']} fit/numpy loop", r["ratio"], 1.3)
        elif g["kind"] == "mlp":
            for r in g["results"]:
                if r["name"].startswith("minigrad"):
                    target("MLP epoch fit/hand-written NumPy MLP", r["ratio"], 1.2)
    return out


# -- plot ---------------------------------------------------------------------------------------------


def plot(groups: list[dict[str, Any]], sweep: list[int], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        print("matplotlib is not installed: no plot")
        return False
    names = [
        "minigrad fit (per epoch)",
        "minigrad manual loop",
        NUMPY_MIN,
        "numpy plain (allocating)",
        "torch nn.Linear+MSELoss+SGD",
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, dtype in zip(axes, ("float64", "float32"), strict=True):
        for name in names:
            pts = [(n, r["median_s"]) for n in sweep if (r := find(groups, "step", name, n=n, d=100, o=1, dtype=dtype))]
            if pts:
                ax.loglog([p[0] for p in pts], [p[1] for p in pts], "-", marker="o", label=name)
        limit = []
        for n in sweep:
            reads = [
                r["median_s"] for name in READ_CASES if (r := find(groups, "step", name, n=n, d=100, o=1, dtype=dtype))
            ]
            if reads:
                limit.append((n, min(reads)))
        if limit:
            ax.loglog([p[0] for p in limit], [p[1] for p in limit], "k--", label="one read of X (bandwidth limit)")
        ax.set_title(f"one full-batch step, D=100, O=1, {dtype}")
        ax.set_xlabel("N (rows of X)")
        ax.grid(True, which="both", color="#e7e7e7")  # opaque: PostScript has no transparency
    axes[0].set_ylabel("seconds per step (median)")
    axes[0].legend(fontsize=8, framealpha=1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot written to {path}")
    return True


# -- markdown -------------------------------------------------------------------------------------------


def markdown(record: dict[str, Any]) -> str:
    """The results of a run as Markdown tables (ratios of medians, the README's summary)."""
    groups = record["groups"]
    head = [machine_line(record), ""]
    cols = [
        ("minigrad fit (per epoch)", "fit"),
        ("minigrad manual loop", "manual loop"),
        ("numpy plain (allocating)", "plain NumPy"),
        ("torch nn.Linear+MSELoss+SGD", "torch"),
        ("sklearn SGDRegressor.partial_fit (epoch)", "sklearn SGD epoch"),
        ("sklearn LinearRegression.fit (solve)", "sklearn solve"),
    ]
    lines = [
        "| N×D×O | dtype | numpy-min | " + " | ".join(c[1] for c in cols) + " | fit: share of BW limit |",
        "|---|---|---|" + "---|" * len(cols) + "---|",
    ]
    for g in groups:
        if g["kind"] != "step":
            continue
        by = {r["name"]: r for r in g["results"]}
        base = by[NUMPY_MIN]
        cells = [f"{by[c]['ratio']:.2f}" if c in by else "–" for c, _ in cols]
        fit = by.get("minigrad fit (per epoch)")
        bw = f"{fit['bandwidth_fraction']:.2f}" if fit and fit.get("bandwidth_fraction") else "–"
        lines.append(
            f"| {g['n']}×{g['d']}×{g['o']} | {g['dtype']} | {fmt_time(base['median_s']).strip()} (1.00) | "
            + " | ".join(cells)
            + f" | {bw} |"
        )
    other = ["", "| benchmark | baseline | contender | ratio (medians) | ratio (mins) |", "|---|---|---|---|---|"]
    for g in groups:
        if g["kind"] == "step":
            continue
        base = g["results"][0]
        for r in g["results"][1:]:
            other.append(
                f"| {g['title']} | {base['name']}: {fmt_time(base['median_s']).strip()} | {r['name']} | "
                f"{r['ratio']:.2f} | {r['ratio_of_mins']:.2f} |"
            )
    mem = ["", "| extra peak memory during training (tracemalloc) | × size of X |", "|---|---|"]
    for r in record.get("memory", {}).get("results", []):
        mem.append(f"| {r['name']}, N={record['memory']['n']} D={record['memory']['d']} | {r['ratio']:.4f} |")
    summ = record.get("summary", {})
    extra = [""]
    for key, slope in summ.get("slopes", {}).items():
        extra.append(f"- log-log slope of time per step against N, {key}: {slope:.2f}")
    for key, slope in summ.get("slopes_out_of_cache", {}).items():
        extra.append(f"- the same from N=1e5 on (X out of cache), {key}: {slope:.2f}")
    for key, sp in summ.get("float32_speedup", {}).items():
        extra.append(f"- float32 speed-up over float64 at the largest N, {key}: {sp:.2f}×")
    return "\n".join(head + lines + other + mem + extra) + "\n"


def machine_line(record: dict[str, Any]) -> str:
    """Where, when and how a run was measured, in one Markdown paragraph: figures never travel without it."""
    info = record.get("machine", {})
    caches = ", ".join(f"{k} {v}" for k, v in info.get("caches", {}).items() if k != "L1d")
    blas = "; ".join(
        f"{p['internal_api']} {p['version']} ({p['architecture']} kernel)"
        for p in info.get("blas", [])
        if p.get("user_api") == "blas"
    )
    env = info.get("env", {})
    line = (
        f"Measured on {info.get('cpu', 'an unknown CPU')} ({info.get('cores')} cores"
        + (f"; {caches}" if caches else "")
        + f"), {blas or 'BLAS unknown'}, numpy {info.get('numpy')}"
        + (f", minigrad at commit {info['commit']}" if info.get("commit") else "")
        + (f", torch {info['torch']['version']}" if "torch" in info else "")
        + f", on {info.get('date', 'an unknown date')}"
    )
    if env:
        line += ", with " + ", ".join(f"{k}={v}" for k, v in env.items())
    if record.get("command"):
        line += f"; command: `{record['command']}`"
    return line + "."
