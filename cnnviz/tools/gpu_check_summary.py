"""The GPU check's short text summary: a compact table made from its JSON (also printed last)."""

from __future__ import annotations


def _num(value, fmt: str = ",.0f", missing: str = "-") -> str:
    return missing if value is None else format(value, fmt)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _ips(entry: dict) -> str:
    """A zoo cell: images/s, or why there is none."""
    if "images_per_second" in entry:
        return _num(entry["images_per_second"])
    return "error" if "error" in entry else "skipped"


def summary(data: dict) -> str:
    env, parts = data.get("environment", {}), data.get("parts", {})
    lines = [
        f"cnnviz GPU check: torch {env.get('torch', '?')}, CUDA {env.get('cuda_version')}, "
        f"{env.get('gpu_name', 'no GPU')}, {env.get('cpu_cores', '?')} CPU cores; "
        f"{data.get('wall_seconds', '?')} s{'' if data.get('finished') else ' (NOT FINISHED)'}",
        data.get("statement", "cuda available: unknown"),
    ]
    p = parts.get("pytest")
    if p:
        if "passed" in p:
            lines.append(f"tests/gpu: {p['passed']} passed, {p['failed']} failed, {p['errors']} errors, "
                         f"{p['skipped']} skipped ({p['status']}, {p.get('seconds', '?')} s)")  # fmt: skip
            shown = ("failure", "error", "skipped") if data.get("cuda_available") else ("failure", "error")
            lines += [f"  {outcome}: {name}" for name, outcome in p.get("tests", {}).items() if outcome in shown]
        else:
            lines.append(f"tests/gpu: {p['status']} {p.get('why') or p.get('error', '')}")
    s = parts.get("syncs")
    if s and "batches" in s:
        hidden = "not countable without CUDA" if s["hidden_syncs"] is None else f"{s['hidden_syncs']} other host syncs"
        lines.append(f"syncs ({s['device']}): {s['read_backs']} read-backs in {s['batches']} batches "
                     f"({s['reports']} reports), {hidden}")  # fmt: skip
    elif s:
        lines.append(f"syncs: {s['status']} ({s.get('why') or s.get('error', '')})")
    t = parts.get("train")
    if t and not t.get("runs"):
        lines.append(f"time to 99 %: {t['status']} ({t.get('why') or t.get('error', '')})")
    elif t:
        reached = t.get("seeds_reaching_99") or f"{sum(r['reached_99'] for r in t['runs'])} of {len(t['runs'])} so far"
        lines.append(f"time to 99 % ({t.get('recipe')}, {t.get('device')}): {reached} seeds reached 99 %")
        lines.append(f"  {'seed':>4} {'final acc':>9} {'from start':>10} {'from batch 1':>12} {'img/s':>8}")
        for r in t["runs"]:
            lines.append(f"  {r['seed']:>4} {_pct(r.get('final_test_accuracy')):>9} "
                         f"{_num(r.get('seconds_from_process_start'), '.2f'):>10} "
                         f"{_num(r.get('seconds_from_first_batch'), '.2f'):>12} {_num(r.get('images_per_second')):>8}"
                         + ("" if r["exit_code"] == 0 else f"  exit {r['exit_code']}"))  # fmt: skip
    z = parts.get("zoo")
    if z and not z.get("networks"):
        lines.append(f"zoo: {z['status']} ({z.get('why') or z.get('error', '')})")
    elif z:
        lines.append(f"zoo, one epoch ({z.get('recipe')}; {z['status']}):")
        lines.append(f"  {'model':<10} {'gpu img/s':>10} {'gpu acc':>8} {'end':>10} {'cpu img/s':>10} {'gpu/cpu':>8}")
        for name, e in z.get("networks", {}).items():
            g, c = e.get("gpu", {}), e.get("cpu", {})
            acc = g.get("test_accuracy", g.get("test_accuracy_at_end"))
            lines.append(f"  {name:<10} {_ips(g):>10} {_pct(acc):>8} {g.get('end', '-'):>10} {_ips(c):>10} "
                         f"{_num(e.get('gpu_over_cpu'), '.1f'):>8}")  # fmt: skip
    v = parts.get("variants")
    if v and not v.get("runs"):
        lines.append(f"training step variants: {v['status']} ({v.get('why') or v.get('error', '')})")
    elif v:
        rates = v.get("images_per_second", {})
        names = list(dict.fromkeys(k for r in rates.values() for k in r))
        lines.append(f"training step, images/s over {v.get('steps')} steps ({v.get('device')}; {v['status']}):")
        if names:
            lines.append(f"  {'model':<8}" + "".join(f" {n:>{max(len(n), 8)}}" for n in names))
        for model, r in rates.items():
            lines.append(f"  {model:<8}" + "".join(f" {_num(r.get(n)):>{max(len(n), 8)}}" for n in names))
    not_done = data.get("not_done", [])
    lines.append("not done: " + ("; ".join(not_done) if not_done else "nothing"))
    return "\n".join(lines) + "\n"
