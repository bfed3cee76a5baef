"""An inspector step as text, for the unit inspector and for ``cnnviz explain`` (plain data in, no torch).

``step_summary`` and ``step_rows`` are the one place a step becomes words; ``report_text`` is
``cnnviz explain``'s whole report for a terminal or lecture notes.
"""

from __future__ import annotations

SHADES = " .:-=+*#%@"  # a map in a terminal, light to dark


def _class(k: int, names: tuple[str, ...]) -> str:
    return str(k) if names[k] == str(k) else f"{k} ({names[k]})"


def num(v: float | None) -> str:
    """A value in a step: four significant digits; None is a padding cell."""
    return "padding" if v is None else f"{v:.4g}"


def step_summary(step: dict) -> str:
    """One line per step of ``UnitExplanation.as_dict()["steps"]``, as on a slide: the arithmetic with its numbers.

    The one place a step becomes text: the unit inspector shows these lines, ``cnnviz explain`` prints them.
    """
    d, kind, v = step["details"], step["kind"], step["value"]
    if kind == "convolution":
        return (f"Σ over {len(d['inputs'])} input map(s) of patch × kernel = {num(d['sum_of_products'])}, "
                f"+ bias {num(d['bias'])} = {num(v)}")  # fmt: skip
    if kind == "batchnorm":
        return f"BatchNorm: {num(d['input'])} × {num(d['scale'])} + {num(d['shift'])} = {num(v)}"
    if kind == "activation":
        return f"{d['function']} {d['formula']}: a = {num(d['input'])} → {num(v)}"
    if kind == "subsampling":
        return f"2×2 sum {num(d['sum'])} × {num(d['coefficient'])} + bias {num(d['bias'])} = {num(v)}"
    if kind == "max_pool":
        return f"max of the window = {num(v)} (at row {d['winner'][0]}, column {d['winner'][1]})"
    if kind == "avg_pool":
        return f"mean of the window: {num(d['sum'])} / {d['divisor']} = {num(v)}"
    if kind == "linear":
        return f"Σ weight × input over {d['n_inputs']} inputs + bias {num(d['bias'])} = {num(v)}"
    if kind == "rbf":
        return f"minus the squared distance to the class's centre: −{num(d['distance'])} = {num(v)}"
    if kind == "inception":
        lo, hi = d["channels"]
        return f"{d['branch']} (channels {lo}–{hi - 1}), its channel {d['branch_channel']} = {num(v)}"
    if kind == "residual":
        return f"main path {num(d['main'])} + skip ({d['skip_kind']}) {num(d['skip'])} = {num(v)}"
    if kind == "normalize":
        return f"normalise: ({num(d['input'])} − {d['mean']:.4g}) / {d['std']:.4g} = {num(v)}"
    if kind == "lrn":
        return f"local response norm: {num(d['input'])} / {num(d['divisor'])} = {num(v)}"
    if kind == "pad":
        return "padding" if d["source"] is None else f"copied from {d['source']} = {num(v)}"
    return f"{kind}: {num(v)}"


def step_rows(step: dict) -> list[tuple[str, dict | None]]:
    """A step's sub-rows and what each shows: a convolution's input maps (their patch and kernel),
    a linear unit's largest inputs, the steps inside an Inception branch or a residual block."""
    d, kind = step["details"], step["kind"]
    if kind == "convolution":
        return [(f"map {i['channel']}: Σ patch × kernel = {num(i['sum'])}", i) for i in d["inputs"]]
    if kind in ("linear", "rbf"):
        key = "contribution" if kind == "linear" else "squared_difference"
        rows: list[tuple[str, dict | None]] = [
            (f"input {t['source']} = {num(t['input'])} → {num(t[key])}", None) for t in d["top"]
        ]
        return rows + [(f"the other inputs together: {num(d['rest'])}", None)]
    if kind == "inception":
        return [(step_summary(s), s) for s in d["steps"]]
    if kind == "residual":
        return [(step_summary(s), s) for s in d["main_steps"] + d["skip_steps"]]
    return []


def _matrix(rows: list[list[float | None]], indent: str = "      ") -> list[str]:
    return [indent + " ".join(f"{num(v):>8}" for v in row) for row in rows]


def _step_lines(step: dict, indent: str = "  ") -> list[str]:
    """A step for a terminal: its summary and rows, with the numbers a slide leaves out (patches, kernels,
    pooling windows) and the nested steps written out in full."""
    d, kind = step["details"], step["kind"]
    lines = [f"{indent}{kind} ({step['module']}): {step_summary(step)}"]
    if kind in ("max_pool", "avg_pool"):
        lines += [f"{indent}  window at row {d['top']}, column {d['left']}"] + _matrix(d["window"], indent + "    ")
    if kind in ("inception", "residual"):  # nested steps: each in full, not only its summary
        return lines + [line for _text, s in step_rows(step) if s for line in _step_lines(s, indent + "  ")]
    show_matrices = kind == "convolution" and len(d["inputs"]) <= 6  # a few maps: their numbers; beyond, sums
    for text, payload in step_rows(step):
        lines.append(f"{indent}  {text}")
        if show_matrices and payload is not None:
            lines.append(f"{indent}    patch at row {payload['top']}, column {payload['left']}")
            lines += _matrix(payload["patch"], indent + "      ")
            lines += [f"{indent}    kernel"] + _matrix(payload["kernel"], indent + "      ")
    return lines


def _unit_lines(unit: dict) -> list[str]:
    u = unit["unit"]
    shape = "x".join(map(str, unit["output_shape"]))
    lines = [
        f"{unit['stage']} ({unit['stage_type']}, output {shape}) unit channel {u['channel']}, y {u['y']}, x {u['x']} = {num(unit['value'])}"
    ]
    box = unit["receptive_field"]
    if box is None:
        lines.append("receptive field: none (the unit lies in padding)")
    else:
        lines.append(
            f"receptive field: rows {box['top']}-{box['bottom'] - 1}, columns {box['left']}-{box['right'] - 1} of the 28x28 input"
        )
    for step in unit["steps"]:
        lines += _step_lines(step)
    if unit["activation"]:
        lines.append(f"pre-activation {num(unit['pre_activation'])}, {unit['activation']} -> {num(unit['value'])}")
    return lines


def _map_lines(values: list[list[float]]) -> list[str]:
    peak = max(abs(v) for row in values for v in row) or 1.0
    n = len(SHADES) - 1
    return ["  " + "".join(SHADES[round(abs(v) / peak * n)] * 2 for v in row) for row in values]


def report_text(report: dict, class_names: tuple[str, ...]) -> str:
    """The whole report of ``cnnviz explain`` as lines of text."""
    p = report["prediction"]
    label = report["image"]["label"]
    lines = [
        f"{report['model']} ({report['weights']}) on {report['image']['source']}"
        + (f", label {_class(label, class_names)}" if label is not None else ""),
        f"prediction: {_class(p['class'], class_names)} ({100 * p['probabilities'][p['class']]:.1f}%)",
    ]
    if "unit" in report:
        lines += [""] + _unit_lines(report["unit"])
    if "attribution" in report:
        a = report["attribution"]
        where = f" on stage {a['stage']}" if a["stage"] else ""
        lines += ["", f"{a['method_name']}{where} for class {_class(a['target'], class_names)}:"]
        lines += _map_lines(a["map"])
        if a["note"]:
            lines.append(a["note"])
        if "out" in a:
            lines.append(f"figure written to {a['out']}")
    return "\n".join(lines)
