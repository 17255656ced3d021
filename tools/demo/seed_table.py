#!/usr/bin/env python3
"""Mean ± sd over seeds of a demo's models, as a Markdown table: tools/demo/seed_table.py DEMO_DIR.

Reads DEMO_DIR/models/<kind>-k<K>[-seed<S>]/eval.json (what `./mxd demo --seeds N` leaves) and prints one row per
kind and K: FVU, NMSE, L0, dead %, the embedding cosine at the real tokens, the score against mean ablation and
recall@10, each as mean ± sample sd over the seeds.
"""
import json
import pathlib
import re
import statistics
import sys


def main(demo):
    rows = {}
    for path in sorted(pathlib.Path(demo, "models").glob("*/eval.json")):
        m = re.fullmatch(r"(mxd|tc|stc)-k(\d+)(?:-seed\d+)?", path.parent.name)
        if not m:
            continue
        e = json.loads(path.read_text())
        d = e.get("downstream") or {}
        rows.setdefault((int(m.group(2)), m.group(1)), []).append({
            "FVU": e["fvu"], "NMSE": e["nmse"], "L0": e["l0"], "dead %": 100 * e["dead_fraction"],
            "cosine": d.get("cosine_replaced"), "score vs mean": d.get("score_mean_ablation"),
            "recall@10": d.get("recall_at_10")})
    if not rows:
        sys.exit(f"no models with eval.json under {demo}/models")
    columns = ["FVU", "NMSE", "L0", "dead %", "cosine", "score vs mean", "recall@10"]
    digits = {"FVU": 4, "NMSE": 4, "L0": 2, "dead %": 1, "cosine": 4, "score vs mean": 3, "recall@10": 3}
    print("| K | kind | seeds | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    order = {"mxd": 0, "tc": 1, "stc": 2}
    for (k, kind), runs in sorted(rows.items(), key=lambda r: (r[0][0], order[r[0][1]])):
        cells = []
        for c in columns:
            values = [r[c] for r in runs if r[c] is not None]
            if not values:
                cells.append("—")
                continue
            mean = statistics.fmean(values)
            sd = statistics.stdev(values) if len(values) > 1 else None
            cells.append(f"{mean:.{digits[c]}f}" + (f" ± {sd:.{digits[c]}f}" if sd is not None else ""))
        print(f"| {k} | {kind.upper() if kind != 'mxd' else 'MxD'} | {len(runs)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
