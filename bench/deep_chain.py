#!/usr/bin/env python3
"""Writes a hierarchy that is one chain of N concepts (c0 -> c1 -> ... -> cN-1), the worst case for
anything that walks ancestors, with a truth taxonomy and proxy embeddings to evaluate it against:

  /usr/bin/python3 bench/deep_chain.py 1000000 /tmp/chain
  time build/conceptree evaluate --hierarchy /tmp/chain/chain.json --truth /tmp/chain/truth.tsv \
      --proxy /tmp/chain/proxy.npy --proxy-ids /tmp/chain/proxy_ids.txt
  time build/conceptree info /tmp/chain/chain.json

The hierarchy JSON lists its nodes and links flat, as conceptree writes them, so its nesting stays
shallow whatever the chain's length. The truth is the same chain with every tenth link moved one
level up, so the scores are neither all 1 nor all 0.
"""

import json
import sys
from pathlib import Path

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    count, folder = int(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"c{i}" for i in range(count)]
    with open(folder / "chain.json", "w") as out:
        out.write('{"nodes": [\n')
        out.write(",\n".join(json.dumps({"id": name}) for name in ids))
        out.write('\n], "links": [\n')
        out.write(",\n".join(json.dumps({"source": ids[i - 1], "target": ids[i], "weight": 0.5}) for i in range(1, count)))
        out.write("\n]}\n")
    with open(folder / "truth.tsv", "w") as out:
        out.write("child\tparent\n")
        out.write(f"{ids[0]}\t\n")
        for i in range(1, count):
            parent = i - 2 if i % 10 == 0 and i >= 2 else i - 1
            out.write(f"{ids[i]}\t{ids[parent]}\n")
    rng = np.random.default_rng(0)
    np.save(folder / "proxy.npy", rng.standard_normal((count, 4)).astype(np.float32))
    (folder / "proxy_ids.txt").write_text("\n".join(ids) + "\n")


if __name__ == "__main__":
    main()
