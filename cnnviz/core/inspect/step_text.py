"""``cnnviz explain``'s report as text for a terminal or lecture notes (plain data in, no torch)."""

from __future__ import annotations

SHADES = " .:-=+*#%@"  # a map in a terminal, light to dark


def _class(k: int, names: tuple[str, ...]) -> str:
    return str(k) if names[k] == str(k) else f"{k} ({names[k]})"


def _num(v: float | None) -> str:
    return "padding" if v is None else f"{v:.4g}"


def _matrix(rows: list[list[float | None]], indent: str = "      ") -> list[str]:
    return [indent + " ".join(f"{_num(v):>8}" for v in row) for row in rows]


def _step_lines(step: dict, indent: str = "  ") -> list[str]:
    d, kind, v = step["details"], step["kind"], step["value"]
    head = f"{indent}{kind} ({step['module']})"
    if kind == "convolution":
        lines = [f"{head}: {len(d['inputs'])} input map(s), stride {d['stride']}, padding {d['padding']}"]
        show = len(d["inputs"]) <= 6  # the patches and kernels of a few maps; beyond, their sums
        for inp in d["inputs"]:
            at = f"patch at row {inp['top']}, column {inp['left']}"
            lines.append(f"{indent}  map {inp['channel']} ({at}): sum of patch x kernel = {_num(inp['sum'])}")
            if show:
                lines += [f"{indent}    patch"] + _matrix(inp["patch"], indent + "      ")
                lines += [f"{indent}    kernel"] + _matrix(inp["kernel"], indent + "      ")
        lines.append(f"{indent}  {_num(d['sum_of_products'])} + bias {_num(d['bias'])} = {_num(v)}")
        return lines
    if kind == "batchnorm":
        return [f"{head}: {_num(d['input'])} x scale {_num(d['scale'])} + shift {_num(d['shift'])} = {_num(v)}"]
    if kind == "activation":
        return [f"{head}: {d['function']} {d['formula']} of {_num(d['input'])} = {_num(v)}"]
    if kind == "normalize":
        return [f"{head}: ({_num(d['input'])} - {d['mean']:.4g}) / {d['std']:.4g} = {_num(v)}"]
    if kind == "lrn":
        return [f"{head}: {_num(d['input'])} / {_num(d['divisor'])} (channels {d['channels']}) = {_num(v)}"]
    if kind == "subsampling":
        return [f"{head}: 2x2 sum {_num(d['sum'])} x {_num(d['coefficient'])} + bias {_num(d['bias'])} = {_num(v)}"]
    if kind in ("max_pool", "avg_pool"):
        lines = [f"{head}: window at row {d['top']}, column {d['left']}"] + _matrix(d["window"], indent + "    ")
        if kind == "max_pool":
            return lines + [f"{indent}  the largest, at {d['winner']}, is {_num(v)}"]
        return lines + [f"{indent}  {_num(d['sum'])} / {d['divisor']} = {_num(v)}"]
    if kind in ("linear", "rbf"):
        key = "contribution" if kind == "linear" else "squared_difference"
        lines = [f"{head}: {d['n_inputs']} inputs, the largest:"]
        for t in d["top"]:
            other = f"weight {_num(t['weight'])}" if kind == "linear" else f"centre {_num(t['centre'])}"
            lines.append(f"{indent}  input {t['source']} = {_num(t['input'])}, {other}: {_num(t[key])}")
        if kind == "linear":
            return lines + [f"{indent}  + the rest {_num(d['rest'])} + bias {_num(d['bias'])} = {_num(v)}"]
        return lines + [f"{indent}  + the rest {_num(d['rest'])}: distance {_num(d['distance'])}, score {_num(v)}"]
    if kind == "inception":
        lines = [
            f"{head}: {d['branch']} (channels {d['channels'][0]}-{d['channels'][1] - 1}), its channel {d['branch_channel']}"
        ]
        return lines + [line for s in d["steps"] for line in _step_lines(s, indent + "  ")]
    if kind == "residual":
        lines = [f"{head}: main path {_num(d['main'])} + skip ({d['skip_kind']}) {_num(d['skip'])} = {_num(v)}"]
        return lines + [line for s in d["main_steps"] + d["skip_steps"] for line in _step_lines(s, indent + "  ")]
    if kind == "pad":
        return [f"{head}: " + ("padding" if d["source"] is None else f"copied from {d['source']}") + f" = {_num(v)}"]
    return [f"{head}: {_num(v)}"]


def _unit_lines(unit: dict) -> list[str]:
    u = unit["unit"]
    shape = "x".join(map(str, unit["output_shape"]))
    lines = [
        f"{unit['stage']} ({unit['stage_type']}, output {shape}) unit channel {u['channel']}, y {u['y']}, x {u['x']} = {_num(unit['value'])}"
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
        lines.append(f"pre-activation {_num(unit['pre_activation'])}, {unit['activation']} -> {_num(unit['value'])}")
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
            lines.append(f"heat map written to {a['out']}")
    return "\n".join(lines)
