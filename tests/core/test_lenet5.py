"""The faithful LeNet-5 against the numbers of LeCun et al. 1998."""

import numpy as np
import pytest
import torch

from cnnviz.core.inspect.layers import layer_table
from cnnviz.core.models.lenet import C3_INPUTS, LeNet5, Squash, c3_connection_table, load_rbf_bitmaps
from cnnviz.core.models.registry import count_parameters

PAPER = {  # layer: (trainable parameters, connections)
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "output": (0, 840),
}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return LeNet5()


def test_layer_numbers_match_the_paper(model):
    rows = {r.name: r for r in layer_table(model)}
    for name, (params, connections) in PAPER.items():
        assert (rows[name].params, rows[name].connections) == (params, connections), name
    assert sum(r.params for r in rows.values()) == 60_000 == count_parameters(model)
    assert sum(r.connections for r in rows.values()) == 340_908


def test_output_shapes(model):
    shapes = {r.name: r.output_shape for r in layer_table(model)}
    assert shapes == {
        "input": (1, 32, 32), "C1": (6, 28, 28), "S2": (6, 14, 14), "C3": (16, 10, 10),
        "S4": (16, 5, 5), "C5": (120, 1, 1), "F6": (84,), "output": (10,),
    }  # fmt: skip


# Table I of LeCun et al. 1998, typed from the paper: row = S2 map, column = C3 map.
PAPER_TABLE_I = """
X...XXX..XXXX.XX
XX...XXX..XXXX.X
XXX...XXX..X.XXX
.XXX..XXXX..X.XX
..XXX..XXXX.XX.X
...XXX..XXXX.XXX
"""


def test_c3_table_is_the_papers():
    table = c3_connection_table().numpy()
    paper = np.array([[c == "X" for c in row] for row in PAPER_TABLE_I.split()])
    np.testing.assert_array_equal(table.astype(bool), paper)
    assert table.sum() == 60
    assert [tuple(sorted(np.flatnonzero(table[:, j]))) for j in range(16)] == [tuple(sorted(s)) for s in C3_INPUTS]


def test_absent_c3_weights_stay_absent_through_training(model):
    c3 = model.c3
    absent = ~c3.mask
    assert c3.dense_weight()[absent].abs().sum() == 0
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.randint(0, 10, (8,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    dense = c3.dense_weight()
    assert dense[absent].abs().sum() == 0
    assert dense[c3.mask].abs().sum() > 0
    # and the absent inputs really do not influence a map: C3 map 0 ignores S2 map 5
    x = torch.zeros(1, 6, 14, 14)
    base = c3(x)[0, 0]
    x[0, 5] = 10.0
    assert torch.equal(c3(x)[0, 0], base)


def test_input_normalisation_background_and_ink(model):
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10:20, 10:20] = 1.0
    framed = model.input(x)[0, 0]
    assert framed.shape == (32, 32)
    assert framed[0, 0].item() == pytest.approx(-0.1)  # padding is background
    assert framed[2, 2].item() == pytest.approx(-0.1)  # blank pixel
    assert framed[15, 15].item() == pytest.approx(1.175)  # ink


def test_squashing_function():
    a = torch.tensor([0.0, 1.0, -1.0, 100.0])
    assert torch.allclose(Squash()(a), 1.7159 * torch.tanh(2 * a / 3))
    assert Squash()(torch.tensor([1.0])).item() == pytest.approx(1.0, abs=1e-4)  # f(1) = 1 by design


def test_initialisation_is_lecun_uniform(model):
    assert model.C1[0].weight.abs().max() <= 2.4 / 25
    assert model.C5[0].weight.abs().max() <= 2.4 / 400
    assert model.F6[1].weight.abs().max() <= 2.4 / 120
    assert model.S2[0].weight.abs().max() <= 2.4 / 4


def test_rbf_centres_are_fixed_plus_minus_one_digit_bitmaps(model):
    bitmaps = load_rbf_bitmaps()
    assert bitmaps.shape == (10, 12, 7) and set(np.unique(bitmaps)) == {-1.0, 1.0}
    flat = bitmaps.reshape(10, 84)
    assert len({row.tobytes() for row in flat}) == 10  # ten different glyphs
    assert not any(p is model.output.centres for p in model.parameters())
    # feeding a centre itself gives distance 0 to that digit: it wins
    scores = model.output(torch.from_numpy(flat))
    assert torch.equal(scores.argmax(1), torch.arange(10))
    assert torch.allclose(scores.diagonal(), torch.zeros(10))
