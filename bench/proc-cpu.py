#!/usr/bin/env python3
"""CPU seconds (user + system) per process name, for every process under ROOT_PID (and ROOT_PID itself),
sampled from /proc every 10 ms until stdin closes; prints JSON {name: [user, system]}. A process that ends
between two samples loses at most its last 10 ms. Used by bench/offsite.ts (OFFSITE_BENCH_CPU=1)."""
import json, os, sys, threading, time

root = int(sys.argv[1])
tick = os.sysconf("SC_CLK_TCK")
first, last, names, parents = {}, {}, {}, {}
mine = {root}
stop = threading.Event()

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    name = data[data.index("(") + 1 : data.rindex(")")]
    fields = data[data.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]), int(fields[12]))

def sample(initial):
    seen = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            seen[pid] = stat(pid)
        except (OSError, ValueError):
            pass
    # descendants of root (parents may be listed after children: iterate to a fixed point)
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in seen.items():
            if pid not in mine and ppid in mine:
                mine.add(pid)
                changed = True
    for pid, (name, _, ticks) in seen.items():
        if pid not in mine or pid == os.getpid():
            continue
        if pid not in first:
            first[pid] = ticks if initial else (0, 0)
        last[pid] = ticks
        names[pid] = name

sample(True)
print("ready", flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    time.sleep(0.01)
    sample(False)
sample(False)
total = {}
for pid in last:
    user, system = total.get(names[pid], (0, 0))
    total[names[pid]] = (user + (last[pid][0] - first[pid][0]) / tick, system + (last[pid][1] - first[pid][1]) / tick)
# {name: [user, system]}, the dearest first
print(json.dumps({k: [round(v[0], 2), round(v[1], 2)] for k, v in sorted(total.items(), key=lambda kv: -sum(kv[1])) if sum(v) > 0}))
