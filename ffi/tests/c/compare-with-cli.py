#!/usr/bin/env python3
"""For each capture, the C decode example's lines (read through the C accessors) must
equal the lines derived from `vfio-iommu-info decode --json` (the Rust model).

Usage: compare-with-cli.py DECODE CLI CAPTURE..."""

import json
import subprocess
import sys


def expected(info):
    h = lambda v: "%#x" % v if v else "0"  # C's %#x prints 0 without a prefix
    lines = [
        "argsz %d" % info["argsz"],
        "flags %s" % h(info["flags"]),
        "cap_offset %d" % (info["cap_offset"] or 0),
        "caps_truncated %d" % info["caps_truncated"],
    ]
    pg = info["iova_pgsizes"]
    lines.append("pgsizes absent" if pg is None else "pgsizes %s" % h(pg))
    absent = info["absent"]

    def absence(key):
        a = absent[key]
        return "%s absent %s: %s" % (key, a["code"], a["reason"])

    if info["iova_ranges"] is None:
        lines.append(absence("iova_ranges"))
    else:
        ap = info["aperture"]
        lines.append("aperture %s %s" % (h(ap["start"]), h(ap["end"])))
        lines += ["range %s %s" % (h(r["start"]), h(r["end"])) for r in info["iova_ranges"]]
        lines += ["hole %s %s" % (h(r["start"]), h(r["end"])) for r in info["holes"]]
    if info["dma_avail"] is None:
        lines.append(absence("dma_avail"))
    else:
        lines.append("dma_avail %d" % info["dma_avail"])
    m = info["migration"]
    if m is None:
        lines.append(absence("migration"))
    else:
        version = next(c["version"] for c in info["chain"] if c["id"] == 2)
        lines.append(
            "migration %d %s %s %d"
            % (version, h(m["flags"]), h(m["pgsize_bitmap"]), m["max_dirty_bitmap_size"])
        )
    lines += ["chain %d %d %d" % (c["id"], c["version"], c["offset"]) for c in info["chain"]]
    # The JSON omits an unknown capability's length; the C side prints it last.
    lines += ["unknown_cap %d %d %d" % (u["id"], u["version"], u["offset"]) for u in info["unknown_caps"]]
    return lines


def main():
    decode, cli, captures = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = 0
    for path in captures:
        want = expected(json.loads(subprocess.check_output([cli, "decode", "--json", path])))
        got = subprocess.check_output([decode, path], text=True).splitlines()
        got = [" ".join(l.split()[:4]) if l.startswith("unknown_cap ") else l for l in got]
        if got != want:
            failed += 1
            print("MISMATCH %s" % path)
            for line in sorted(set(got) ^ set(want)):
                print("  %s %s" % ("C  " if line in got else "CLI", line))
    print("compare-with-cli: %d captures, %d mismatches" % (len(captures), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
