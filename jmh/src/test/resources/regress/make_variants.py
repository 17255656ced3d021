"""Makes the comparison's test inputs from wide.json, a real `./mxd bench --quick --save-baseline` run (5 rounds,
so 5 forks of 2 measured iterations per benchmark) on a 2-core AMD EPYC shared with other builds (load average
4.8 at its start and 29 near its end; the other load of its iterations 3 to 34 threads, hence the wide spread).

    python3 make_variants.py        (in this directory; needs scipy for JMH's 99.9 % error)

tight.json               wide.json with each score's iterations pulled towards their median until none is
                         more than 3 % from it (the spread of a quiet machine); scores recomputed as JMH does
tight-slower20.json      tight.json with every iteration x 0.8 (throughput 20 % lower)
tight-wobble3.json       tight.json with the iterations in reverse order and x 0.97 (3 % lower, within the spread)
tight-slower-machine.json  tight-slower20.json whose environment names another CPU
tight-renamed.json       tight.json with TrainBenchmark.step's shape renamed small -> tiny (2 missing, 2 new scores)
tight-jdk21.json         tight.json whose environment says JDK 21.0.5
wide-slower20.json       wide.json with every iteration x 0.8
truncated.json           the first 700 characters of tight.json
tight-load.json          tight.json with an other load (mxdOtherLoad) of 0.2 in every iteration
tight-slower20-load.json   tight-slower20.json, same other load 0.2
tight-slower20-busier.json tight-slower20.json with an other load of 1.0: on 2 cores a 2-thread benchmark gets
                         2/3 of the machine instead of 2/2.2, which explains the 20 % loss
tight-three-slow-forks.json  tight.json with the iterations of forks 1, 3 and 5 x 0.6 (24 % lower on average, all
                         of it in three forks that ran slow while two ran as before)
tight-one-fork.json      tight.json with each score's forks joined into one (a plain one-fork JMH result)
tight-one-fork-slower20.json  the same of tight-slower20.json
"""
import copy
import json

import numpy as np
from scipy import stats


def rescore(metric, transform):
    forks = [[transform(v) for v in fork] for fork in metric["rawData"]]
    metric["rawData"] = forks
    flat = np.array([v for fork in forks for v in fork])
    n = len(flat)
    mean = float(flat.mean())
    err = float(stats.t.ppf(0.9995, n - 1) * flat.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    metric["score"] = mean
    metric["scoreError"] = err
    metric["scoreConfidence"] = [mean - err, mean + err]
    metric["scorePercentiles"] = {k: float(np.percentile(flat, float(k))) for k in metric["scorePercentiles"]}


def each_metric(doc, fn):
    for b in doc["jmh"]:
        fn(b["primaryMetric"])
        for m in b.get("secondaryMetrics", {}).values():
            fn(m)


def tightened(metric):
    flat = [v for fork in metric["rawData"] for v in fork]
    med = float(np.median(flat))
    worst = max(abs(v - med) for v in flat) / med
    k = min(1.0, 0.03 / worst)
    rescore(metric, lambda v: med + (v - med) * k)


def variant(doc, fn):
    d = copy.deepcopy(doc)
    each_metric(d, fn)
    return d


def write(name, doc):
    with open(name, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


wide = json.load(open("wide.json"))
tight = variant(wide, tightened)
write("tight.json", tight)
slower = variant(tight, lambda m: rescore(m, lambda v: v * 0.8))
write("tight-slower20.json", slower)


def wobble(m):
    m["rawData"] = [list(reversed(f)) for f in m["rawData"]]
    rescore(m, lambda v: v * 0.97)


write("tight-wobble3.json", variant(tight, wobble))
machine = copy.deepcopy(slower)
machine["environment"]["cpu"]["model"] = "Slower CPU"
write("tight-slower-machine.json", machine)
renamed = copy.deepcopy(tight)
for b in renamed["jmh"]:
    if b["benchmark"].endswith("TrainBenchmark.step"):
        b["params"]["shape"] = "tiny"
write("tight-renamed.json", renamed)
jdk21 = copy.deepcopy(tight)
jdk21["environment"]["jdk"]["version"] = "21.0.5"
jdk21["environment"]["jdk"]["vm"] = "OpenJDK 64-Bit Server VM 21.0.5+11-LTS"
write("tight-jdk21.json", jdk21)
write("wide-slower20.json", variant(wide, lambda m: rescore(m, lambda v: v * 0.8)))
with open("truncated.json", "w") as f:
    f.write(open("tight.json").read()[:700])


def with_load(doc, load):
    d = copy.deepcopy(doc)
    for b in d["jmh"]:
        b["mxdOtherLoad"] = [load] * sum(len(f) for f in b["primaryMetric"]["rawData"])
    return d


write("tight-load.json", with_load(tight, 0.2))
write("tight-slower20-load.json", with_load(slower, 0.2))
write("tight-slower20-busier.json", with_load(slower, 1.0))


def slow_forks(metric, which, factor):
    metric["rawData"] = [[v * factor for v in f] if i in which else f for i, f in enumerate(metric["rawData"])]
    rescore(metric, lambda v: v)


write("tight-three-slow-forks.json", variant(tight, lambda m: slow_forks(m, {0, 2, 4}, 0.6)))


def one_fork(doc):
    d = copy.deepcopy(doc)
    for b in d["jmh"]:
        b["forks"] = 1
    each_metric(d, lambda m: m.update(rawData=[[v for f in m["rawData"] for v in f]]))
    return d


write("tight-one-fork.json", one_fork(tight))
write("tight-one-fork-slower20.json", one_fork(slower))
