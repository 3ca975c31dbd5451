"""Stimulus helpers shared by the RTL tests: random semantic values and frames with edge cases."""

from __future__ import annotations

import zlib

import numpy as np

from flows.datatypes import DataType, Kind

RANDOM_FRAMES = 8  # the bench needs >= 6: reset test uses frames 2..5, throughput frames 0..5


def random_values(dtype: DataType, shape, rng: np.random.Generator) -> np.ndarray:
    """Uniform random semantic values of `dtype` (BIPOLAR: -1/+1)."""
    if dtype.kind == Kind.BIPOLAR:
        return rng.choice(np.array([-1, 1]), size=shape)
    return rng.integers(dtype.min, dtype.max + 1, size=shape, dtype=np.int64)


def frames_with_edges(
    dtype: DataType,
    num_vectors: int,
    channels: int,
    edges: list,
    rng: np.random.Generator,
    random_frames: int = RANDOM_FRAMES,
) -> np.ndarray:
    """(frames, num_vectors, channels): random frames first, then the edge-case vectors.

    Edge vectors are packed num_vectors to a frame (the last frame filled with random vectors).
    """
    rand = random_values(dtype, (random_frames, num_vectors, channels), rng)
    vecs = [np.broadcast_to(np.asarray(e, dtype=np.int64), (channels,)) for e in edges]
    while len(vecs) % num_vectors:
        vecs.append(random_values(dtype, (channels,), rng))
    edge_frames = np.stack(vecs).reshape(-1, num_vectors, channels)
    frames = np.concatenate([rand, edge_frames])
    dtype.check(frames, "test stimulus")
    return frames


def seed_of(nodeid: str) -> int:
    """A stable seed per pytest node id (reruns of one test see the same data)."""
    return zlib.crc32(nodeid.encode())
