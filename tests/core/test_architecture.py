"""The architecture graph: branches, skips and the C3 table come from the modules themselves."""

from __future__ import annotations

import json

from torch import nn

from cnnviz.core.inspect.architecture import IMAGE, architecture, edges
from cnnviz.core.inspect.layers import layer_table
from cnnviz.core.models.lenet import c3_connection_table
from cnnviz.core.models.registry import build_model, list_models


def _by_id(nodes):
    return {n.id: n for n in nodes}


def test_every_zoo_network_is_a_graph_in_drawing_order():
    for spec in list_models():
        model = build_model(spec.name)
        nodes = architecture(model)
        ids = [n.id for n in nodes]
        assert len(ids) == len(set(ids)) and ids[0] == IMAGE
        seen = set()
        for node in nodes:
            assert set(node.inputs) <= seen, (spec.name, node.id)  # every arrow points forwards
            seen.add(node.id)
        # Each stage's output node has the stage's id and its shape from the layer table.
        table = layer_table(model)
        for row in table:
            assert _by_id(nodes)[row.name].output_shape == row.output_shape
        json.dumps([n.as_dict() for n in nodes])


def test_googlenet_inception_blocks_have_four_branches_and_a_concatenation():
    nodes = architecture(build_model("googlenet"))
    by_id = _by_id(nodes)
    blocks = [n for n in nodes if n.kind == "concat"]
    assert [n.id for n in blocks] == ["inception3a", "inception3b", "inception4a", "inception4b"]
    for concat in blocks:
        branches = [by_id[i] for i in concat.inputs]
        assert len(branches) == 4 and all(b.kind == "branch" for b in branches)
        assert len({tuple(b.inputs) for b in branches}) == 1  # all four read the same input
        assert sum(b.output_shape[0] for b in branches) == concat.output_shape[0]
        assert [b.details["channels"][0] for b in branches][0] == 0
        assert branches[-1].details["channels"][1] == concat.output_shape[0]
        assert "MaxPool2d 3x3" in branches[3].type
    assert by_id["inception3a.branch1"].inputs == ["pool1"]


def test_resnet_blocks_have_skip_paths_and_projections_where_the_shape_changes():
    nodes = architecture(build_model("resnet"))
    by_id = _by_id(nodes)
    adds = [n for n in nodes if n.kind == "add"]
    assert len(adds) == 5  # blocks (2, 2, 1)
    for add in adds:
        main, skip = (by_id[i] for i in add.inputs)
        assert (main.kind, skip.kind) == ("main", "skip")
        assert main.inputs == skip.inputs
        block_input = by_id[main.inputs[0]]
        changes_shape = block_input.output_shape != add.output_shape
        assert skip.details["projection"] == changes_shape
        assert ("Conv2d 1x1" in skip.type) == changes_shape
        assert (skip.type == "identity") != changes_shape
    assert [n.id for n in adds][-1] == "layer3" and by_id["avgpool"].inputs == ["layer3"]
    assert [n.label for n in adds] == ["layer1.0 add", "layer1", "layer2.0 add", "layer2", "layer3"]


def test_lenet5_c3_carries_its_connection_table():
    by_id = _by_id(architecture(build_model("lenet5")))
    assert by_id["C3"].details["connection_table"] == c3_connection_table().tolist()
    assert "connection_table" not in by_id["C5"].details


def test_any_other_module_is_a_chain_of_its_stages():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    nodes = architecture(model)
    assert [n.id for n in nodes] == [IMAGE, "0", "1", "2", "3"]
    assert edges(nodes) == [(IMAGE, "0"), ("0", "1"), ("1", "2"), ("2", "3")]
    assert [n.output_shape for n in nodes[1:]] == [(4, 26, 26), (4, 26, 26), (2704,), (10,)]
    assert all(n.kind == "stage" for n in nodes[1:])
    assert model.training  # the mode is put back
