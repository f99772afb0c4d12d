"""The round's shortcuts for the common case change nothing: with every client taking part
and nobody able to drop, ``select`` skips its draws, and ``ClientData.take`` of every client
hands back the arrays themselves. Each must give exactly what the draw or the copy gave."""

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fedsim import SimulationConfig
from fedsim.training.batching import ClientData
from fedsim.engine.phases import select
from fedsim.rng import generator
from fedsim.engine.round import RoundState, Snapshot


def _drawn(seed, n, q, dropout, r):
    """What select drew before the shortcuts: a sorted uniform sample, then dropouts."""
    m = max(1, int(round(q * n)))
    sampled = np.sort(generator(seed, "sample", r).choice(n, size=m, replace=False))
    dropped = sampled[generator(seed, "dropout", r).random(len(sampled)) < dropout]
    return tuple(sampled.tolist()), tuple(dropped.tolist())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), q=st.sampled_from([0.05, 0.3, 0.99, 1.0]),
       dropout=st.sampled_from([0.0, 0.2]), seed=st.integers(0, 10**6), r=st.integers(1, 50))
def test_select_equals_the_full_draw(n, q, dropout, seed, r):
    cfg = SimulationConfig.from_dict({"seed": seed, "clients": {
        "num_clients": n, "fraction": q, "dropout": dropout}})
    env = SimpleNamespace(config=cfg)
    rs, rep = select(env, RoundState(round=r, start=Snapshot(np.zeros(1), None, ())))
    assert (rs.sampled, rs.dropped) == _drawn(seed, n, q, dropout, r)
    assert all(type(c) is int for c in rs.sampled) and rep.sampling == "uniform"


def test_take_of_every_client_is_the_data_itself_and_a_subset_is_a_padded_copy():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(n, 2)).astype(np.float32) for n in (3, 5, 1)]
    ys = [np.arange(len(x), dtype=np.int32) for x in xs]
    cd = ClientData.build(xs, ys, [x[:1] for x in xs], [y[:1] for y in ys])
    assert cd.take(np.arange(3)) is cd
    part = cd.take(np.array([2, 0]))
    assert part.x.shape == (2, 3, 2) and part.counts.tolist() == [1, 3]
    assert np.array_equal(part.x[1, :3], xs[0]) and not np.shares_memory(part.x, cd.x)
    assert cd.take(np.array([1, 0, 2])).counts.tolist() == [5, 3, 1]  # reordered: a copy
