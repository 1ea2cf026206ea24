#!/usr/bin/env python3
"""bench/instructions.py DIR OUT MEMBERS SCENARIO... - the report of
bench/instructions: instructions per call by whose code ran them, from the
callgrind files DIR/cg.SCENARIO and allot-load's DIR/load.SCENARIO.json.
Writes OUT/instructions.md and OUT/instructions.json and prints the table."""
import json
import os
import re
import subprocess
import sys

# Whose code an object file is, by its file name.
CLASSES = [
    ("allotd", re.compile(r"^allotd$")),
    ("LMDB", re.compile(r"^liblmdb")),
    ("protobuf-c", re.compile(r"^libprotobuf-c")),
    # gRPC's own libraries and what it is built on (abseil, upb, the C++ runtime)
    ("gRPC", re.compile(r"^lib(grpc|gpr|absl_|upb|address_sorting|re2|cares|ssl|crypto|z\.|"
                        r"stdc\+\+|gcc_s)")),
    ("libc", re.compile(r"^(libc\.|libm\.|ld-linux|libpthread)")),
]
OTHER = "other"
NAMES = [c for c, _ in CLASSES] + [OTHER]
LINE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+(.*?) \[(.*)\]\s*$")


def whose(obj):
    base = os.path.basename(obj)
    for name, rx in CLASSES:
        if rx.search(base):
            return name
    return OTHER


def split(cg_file):
    """Exclusive instructions of every function, summed by class; and the
    top functions of allotd's own code."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", cg_file],
                         check=True, capture_output=True, text=True).stdout
    by = dict.fromkeys(NAMES, 0)
    ours = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        cls = whose(m.group(3))
        by[cls] += ir
        if cls == "allotd":
            fn = m.group(2).split(":")[-1]
            ours[fn] = ours.get(fn, 0) + ir
    return by, ours


def main():
    d, out_dir, members, scenarios = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    rows = {}
    for s in scenarios:
        load = json.load(open(os.path.join(d, f"load.{s}.json")))
        calls = sum(r["calls"] for r in load["results"])
        errors = sum(r["errors"] for r in load["results"])
        if calls <= 0 or errors:
            sys.exit(f"bench/instructions: {s}: {calls} calls, {errors} errors")
        by, ours = split(os.path.join(d, f"cg.{s}"))
        per = {k: round(v / calls) for k, v in by.items()}
        per["total"] = sum(per[k] for k in NAMES)
        top = sorted(ours.items(), key=lambda kv: -kv[1])[:8]
        rows[s] = {"calls": calls, "per_call": per,
                   "top_allotd": [[fn, round(ir / calls)] for fn, ir in top]}

    md = [f"# Instructions per call ({members} members, 1 in flight, user space)", "",
          "| scenario | calls | total | " + " | ".join(NAMES) + " |",
          "|---|--:|--:|" + "--:|" * len(NAMES)]
    for s, r in rows.items():
        p = r["per_call"]
        md.append(f"| {s} | {r['calls']} | {p['total']} | " +
                  " | ".join(str(p[k]) for k in NAMES) + " |")
    if "floor" in rows:
        f = rows["floor"]["per_call"]
        md += ["", "Beyond floor (the scenario's count minus floor's):", "",
               "| scenario | total | " + " | ".join(NAMES) + " |",
               "|---|--:|" + "--:|" * len(NAMES)]
        for s, r in rows.items():
            if s == "floor":
                continue
            p = r["per_call"]
            md.append(f"| {s} | {p['total'] - f['total']} | " +
                      " | ".join(str(p[k] - f[k]) for k in NAMES) + " |")
    md += ["", "allotd's own functions with the most instructions (exclusive, per call):", ""]
    for s, r in rows.items():
        md.append(f"- {s}: " + ", ".join(f"{fn} {ir}" for fn, ir in r["top_allotd"]))
    text = "\n".join(md) + "\n"
    with open(os.path.join(out_dir, "instructions.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(out_dir, "instructions.json"), "w") as fh:
        json.dump({"members": members, "inflight": 1, "scenarios": rows}, fh, indent=1)
    print(text, end="")


if __name__ == "__main__":
    main()
