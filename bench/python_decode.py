"""Times vfio_iommu_info.decode() of a real Linux 6.12 capture: the best of 5 rounds of
100,000 calls, in nanoseconds per call (the goal: within 2 microseconds).

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
n = 100_000
best = min(timeit.repeat(lambda: vii.decode(data), number=n, repeat=5)) / n
to_dict = min(timeit.repeat(lambda: vii.decode(data).to_dict(), number=n // 10, repeat=5)) / (n // 10)
print(f"python decode {best * 1e9:.0f} ns/call, decode+to_dict {to_dict * 1e9:.0f} ns/call "
      f"({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}, {len(data)} bytes, "
      f"CPython {sys.version_info[0]}.{sys.version_info[1]})")
