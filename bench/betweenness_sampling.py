#!/usr/bin/python3
"""Sampled against exact betweenness on concept-like graphs, and what the difference does to the
hierarchy (issue #20: rank correlation >= 0.99 on 10,000 concepts).

The input is a seeded similarity matrix with a planted hierarchy, written in conceptree's
similarity format with h5py: a four-level tree of concepts (0.1 %, 1 %, 10 % and the rest of them
per level, each concept under a random one of the level above), each concept a unit vector = its
parent's + Gaussian noise that shrinks with depth (so siblings are close, cousins less so). Then
S[i][j] = sigmoid(kappa (cos(i, j) - tau - tau_per_level * depth(j)) + noise): general concepts
(shallow j) fire on more of everyone's members, so S[child][parent] > S[parent][child], as with
real activation similarities, and the graph (S > 0.5 either way) has hubs at the top and many
low-degree leaves, unlike an Erdos-Renyi graph.

For each graph, `conceptree hierarchy --order betweenness` runs once exact (--centrality-sources 0,
below the automatic limit) and once per source count; the table compares the two runs'
centralities (Spearman and Kendall's tau-b over all concepts, ties at their average rank; the
overlap of the 100 most central) and their hierarchies (the share of concepts whose parent is the
same, top level counting as a parent). Times are the "betweenness in X s" of conceptree's log.

Then betweenness alone, exact and sampled, on a planted graph of 100,000 concepts, built from its
edge list by bench/betweenness_timing.cpp (compiled here against the build's libconceptree.a): the
dense similarity of 100,000 concepts would take 40 GB, so `conceptree hierarchy` cannot read it.

    /usr/bin/python3 bench/betweenness_sampling.py build/conceptree [--workdir /tmp/betweenness_sampling]
        [--concepts 10000] [--tau 0.7 0.75] [--sources 512 1024 2048 4096] [--jobs 2]
        [--timing-concepts 100000] [--timing-sources 2048 4096 8192 10000]

Run with Debian's /usr/bin/python3 (python3-numpy, -h5py, -scipy).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
from scipy import stats

LEVEL_SHARES = (0.001, 0.01, 0.1)   # of the concepts at depths 0, 1, 2; the rest are leaves
LEVEL_SPREAD = (1.0, 0.6, 0.4, 0.3)  # noise added to the parent's vector at each depth
DIMENSION = 32
KAPPA = 12.0                          # steepness of the activation
TAU_PER_LEVEL = 0.08                  # a deeper concept's classifier needs a closer member to fire
NOISE = 0.04                          # per S[i][j], in cosine units
ROWS_PER_BLOCK = 1000


def planted_vectors(concepts, seed):
    """Unit vectors of a planted four-level hierarchy, shuffled (so that the file order, which breaks
    ties, says nothing about the level), and each concept's depth."""
    rng = np.random.default_rng(seed)
    sizes = [max(1, round(concepts * share)) for share in LEVEL_SHARES]
    sizes.append(concepts - sum(sizes))
    depth = np.concatenate([np.full(size, level) for level, size in enumerate(sizes)])
    vectors = np.zeros((concepts, DIMENSION), np.float32)
    first = 0
    for level, size in enumerate(sizes):
        rows = slice(first, first + size)
        if level > 0:
            vectors[rows] = vectors[rng.integers(first - sizes[level - 1], first, size)]
        vectors[rows] += LEVEL_SPREAD[level] * rng.standard_normal((size, DIMENSION), dtype=np.float32)
        first += size
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    order = rng.permutation(concepts)
    return vectors[order], depth[order]


def planted_logits(vectors, depth, first, last, tau, rng):
    """Rows first:last of kappa (cos(i, j) - tau - tau_per_level depth(j) + noise): S is their sigmoid."""
    logits = vectors[first:last] @ vectors.T
    logits -= (tau + TAU_PER_LEVEL * depth).astype(np.float32)[None, :]
    logits += rng.standard_normal(logits.shape, dtype=np.float32) * np.float32(NOISE)
    logits *= np.float32(KAPPA)
    return logits


def planted_similarity(concepts, seed, tau):
    """A seeded concepts x concepts float32 similarity with a planted four-level hierarchy."""
    vectors, depth = planted_vectors(concepts, seed)
    noise = np.random.default_rng([seed, 1])
    similarity = np.empty((concepts, concepts), np.float32)
    for first in range(0, concepts, ROWS_PER_BLOCK):
        last = min(concepts, first + ROWS_PER_BLOCK)
        similarity[first:last] = 1 / (1 + np.exp(-planted_logits(vectors, depth, first, last, tau, noise)))
    np.fill_diagonal(similarity, 1.0)
    return similarity


def planted_edges(concepts, seed, tau):
    """The concept graph of planted_similarity(concepts, seed, tau) (S > 0.5 either way), as (a, b)
    pairs with a < b, without ever holding the whole matrix."""
    vectors, depth = planted_vectors(concepts, seed)
    noise = np.random.default_rng([seed, 1])
    above = []
    for first in range(0, concepts, ROWS_PER_BLOCK):
        last = min(concepts, first + ROWS_PER_BLOCK)
        rows, columns = np.nonzero(planted_logits(vectors, depth, first, last, tau, noise) > 0)
        above.append(np.column_stack([rows + first, columns]).astype(np.uint32))
    pairs = np.concatenate(above)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs.sort(axis=1)
    return np.unique(pairs, axis=0)


def write_similarity(path, similarity):
    """Writes `similarity` in conceptree's similarity format (docs/formats.md)."""
    names = [f"c{i}" for i in range(len(similarity))]
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "conceptree.similarity"
        f.attrs["format_version"] = np.uint64(1)
        f.attrs["measure"] = "activation"
        f.attrs["layer"] = "synthetic"
        f["similarity"] = similarity
        f["names"] = names
        f["types"] = ["concept"] * len(names)
        f["support"] = np.full(len(names), 30, np.uint64)


def hierarchy(binary, similarity_path, output, sources, jobs):
    """Runs `conceptree hierarchy --order betweenness`; returns its betweenness seconds, graph size,
    centralities, parent of each concept and the recorded error bound (0 when exact)."""
    # --centrality-sources 0 with a limit above the size: exact.
    command = [str(binary), "hierarchy", "-s", str(similarity_path), "-o", str(output), "--overwrite", "--order", "betweenness",
               "--centrality-sources", str(sources), "--exact-centrality-limit", str(10**12), "--jobs", str(jobs)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    found = re.search(r"concept graph: (\d+) concepts, (\d+) edges above .*; betweenness in ([0-9.]+) s", completed.stderr)
    if not found:
        sys.exit(f"no betweenness time in conceptree's log:\n{completed.stderr}")
    tree = json.loads(Path(output).read_text())
    ids = [node["id"] for node in tree["nodes"]]
    parents = {name: [] for name in ids}
    for link in tree["links"]:
        parents[link["target"]].append(link["source"])
    return {"concepts": int(found[1]), "edges": int(found[2]), "seconds": float(found[3]),
            "centrality": np.array([node["centrality"] for node in tree["nodes"]]),
            "parents": [sorted(parents[name]) for name in ids],
            "error_bound": float(tree["params"].get("centrality_error_bound", 0.0))}


def large_graph_betweenness(binary, workdir, concepts, seed, tau, sources, jobs):
    """Betweenness alone (exact when sources is 0) on the concept graph of planted_similarity(concepts,
    ...), built from its edges (the dense matrix of 100,000 concepts would take 40 GB): compiles
    bench/betweenness_timing.cpp against the build's library. Returns its seconds, sizes, error
    bound and scores."""
    build = binary.resolve().parent
    timing = workdir / "betweenness_timing"
    source = Path(__file__).resolve().parent / "betweenness_timing.cpp"
    library = build / "src" / "libconceptree.a"
    if not timing.exists() or timing.stat().st_mtime < max(source.stat().st_mtime, library.stat().st_mtime):
        subprocess.run(["c++", "-std=c++20", "-O3", "-fopenmp", f"-I{source.parent.parent / 'include'}", str(source), str(library),
                        "-lfmt", "-o", str(timing)], check=True)
    edges_path = workdir / f"planted_{concepts}_{tau}_{seed}.edges"
    if not edges_path.exists():
        started = time.perf_counter()
        planted_edges(concepts, seed, tau).tofile(edges_path)
        print(f"({concepts} concepts: edges written in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    scores_path = workdir / "scores.f64"
    completed = subprocess.run([str(timing), str(edges_path), str(concepts), str(sources), str(seed), str(jobs), str(scores_path)],
                               capture_output=True, text=True, check=True)
    result = json.loads(completed.stdout)
    result["centrality"] = np.fromfile(scores_path)
    return result


def compare_centralities(exact, sampled, top):
    """Spearman, Kendall's tau-b, the overlap of the `top` most central, the largest difference."""
    spearman = stats.spearmanr(exact, sampled).statistic
    kendall = stats.kendalltau(exact, sampled).statistic
    top_exact = set(np.argsort(-exact, kind="stable")[:top])
    top_sampled = set(np.argsort(-sampled, kind="stable")[:top])
    return spearman, kendall, len(top_exact & top_sampled) / top, np.max(np.abs(exact - sampled))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", type=Path, help="the conceptree executable")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/betweenness_sampling"))
    parser.add_argument("--concepts", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one graph per seed")
    parser.add_argument("--tau", type=float, nargs="*", default=[0.7, 0.75],
                        help="activation offsets, one 10,000-concept graph each (none: skip): 0.7 gives mean degree 35, 0.75 14")
    parser.add_argument("--sources", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--timing-concepts", type=int, default=100_000,
                        help="exact and sampled betweenness alone on a planted graph this large (0: skip)")
    parser.add_argument("--timing-tau", type=float, default=0.75)
    parser.add_argument("--timing-sources", type=int, nargs="+", default=[2048, 4096, 8192, 10000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--top", type=int, default=100)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load {Path('/proc/loadavg').read_text().split()[0]}; --jobs {args.jobs}")
    if args.tau:
        print("| graph | nodes | edges | sources | exact s | sampled s | speed-up | Spearman | Kendall tau | "
              f"top-{args.top} overlap | same parent | max error | stated bound (95 %) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tau in args.tau:
        for seed in args.seeds:
            label = f"planted, tau {tau}, seed {seed}"
            similarity_path = args.workdir / f"planted_{args.concepts}_{tau}_{seed}.h5"
            if not similarity_path.exists():
                started = time.perf_counter()
                write_similarity(similarity_path, planted_similarity(args.concepts, seed, tau))
                print(f"({label}: similarity written in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
            exact = hierarchy(args.binary, similarity_path, args.workdir / "exact.json", 0, args.jobs)
            for sources in args.sources:
                sampled = hierarchy(args.binary, similarity_path, args.workdir / "sampled.json", sources, args.jobs)
                spearman, kendall, overlap, worst = compare_centralities(exact["centrality"], sampled["centrality"], args.top)
                same_parent = np.mean([a == b for a, b in zip(exact["parents"], sampled["parents"])])
                print(f"| {label} | {exact['concepts']} | {exact['edges']} | {sources} | {exact['seconds']:.2f} | "
                      f"{sampled['seconds']:.2f} | {exact['seconds'] / sampled['seconds']:.1f} | {spearman:.4f} | {kendall:.4f} | "
                      f"{overlap:.2f} | {same_parent:.4f} | {worst:.2e} | {sampled['error_bound']:.2e} |", flush=True)
    if args.timing_concepts:
        print(f"\nBetweenness alone, planted graph of {args.timing_concepts} concepts (tau {args.timing_tau}, seed 0):\n")
        print(f"| nodes | edges | sources | exact s | sampled s | speed-up | Spearman | Kendall tau | top-{args.top} overlap | "
              "max error | stated bound (95 %) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        large = (args.binary, args.workdir, args.timing_concepts, 0, args.timing_tau)
        exact = large_graph_betweenness(*large, 0, args.jobs)
        for sources in args.timing_sources:
            sampled = large_graph_betweenness(*large, sources, args.jobs)
            spearman, kendall, overlap, worst = compare_centralities(exact["centrality"], sampled["centrality"], args.top)
            print(f"| {sampled['nodes']} | {sampled['edges']} | {sampled['sources']} | {exact['seconds']:.1f} | {sampled['seconds']:.1f} | "
                  f"{exact['seconds'] / sampled['seconds']:.1f} | {spearman:.4f} | {kendall:.4f} | {overlap:.2f} | {worst:.2e} | "
                  f"{sampled['error_bound']:.2e} |", flush=True)


if __name__ == "__main__":
    main()
