"""Times vfio_iommu_info.decode() of a real Linux 6.12 capture and the to_dict() of what
it gives (the info, its space, its facts, a guest layout in it), side by side in one run:
the best of 5 rounds, in nanoseconds per call (the goals: decode within 2 microseconds,
each to_dict() within 2 microseconds).

    target/python/venv/bin/python bench/python_decode.py [CAPTURE]"""

import sys
import timeit
from pathlib import Path

import vfio_iommu_info as vii

ROOT = Path(__file__).resolve().parents[1]
path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/fixtures/linux-6.12-amd/group-2/info-exact.bin"
data = path.read_bytes()
info = vii.decode(data)
assert info.iova_ranges, "the capture has IOVA ranges"
space = info.space()
assert space is not None
facts = vii.type1_facts(info)
layout = space.layout([1 << 30, (1 << 20, 0xFEE00000), 3 << 30], dma_avail=info.dma_avail)


def best(call, n: int) -> float:
    """Nanoseconds per call: the best of 5 rounds of n calls."""
    return min(timeit.repeat(call, number=n, repeat=5)) / n * 1e9


n = 100_000
decode = best(lambda: vii.decode(data), n)
rows = [
    ("info.to_dict()", best(info.to_dict, n // 10)),
    ("space.to_dict()", best(space.to_dict, n // 10)),
    ("facts.to_dict()", best(facts.to_dict, n // 10)),
    ("layout.to_dict()", best(layout.to_dict, n // 10)),
    ("decode(...).to_dict()", best(lambda: vii.decode(data).to_dict(), n // 10)),
]
where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
print(f"python decode {decode:.0f} ns/call ({where}, {len(data)} bytes, "
      f"CPython {sys.version_info[0]}.{sys.version_info[1]})")
for name, ns in rows:
    print(f"python {name:<22} {ns:6.0f} ns/call  ({ns / decode:.1f} x decode)")
