"""``cnnviz eval``: a weights file's test accuracy and confusion matrix, and the shipped weights' table."""

from __future__ import annotations

import json

from cnnviz.cli.train_command import train_command


def run_eval(args) -> None:
    """``cnnviz eval``: a weights file's test accuracy and confusion matrix, or (``--shipped``) the model table."""
    from cnnviz.core.data.datasets import class_names
    from cnnviz.core.models.user_model import resolve_model_name
    from cnnviz.core.training.evaluate import evaluate
    from cnnviz.core.weights.checkpoint import load_checkpoint

    if args.shipped:
        _shipped_table(args)
        return
    # A user's network is rebuilt from the file named here, never from anything in the weights file.
    model, meta = load_checkpoint(args.weights, resolve_model_name(args.model) if args.model else None)
    dataset = args.dataset or meta.get("dataset") or "mnist"
    result = evaluate(model, dataset, args.data_dir)
    if args.json:
        print(
            json.dumps(
                {
                    "weights": args.weights,
                    "model": meta["model"],
                    "dataset": dataset,
                    "metadata_test_accuracy": meta.get("test_accuracy"),
                    **result.as_dict(),
                }
            )
        )
        return
    names = class_names(dataset)
    print(
        f"{meta['model']} on {dataset}: test accuracy {100 * result.accuracy:.2f}% "
        f"({len(result.misclassified):,} of {int(result.confusion.sum()):,} wrong)"
    )
    print("confusion matrix (rows: true class, columns: predicted)")
    print("      " + " ".join(f"{i:>5}" for i in range(10)))
    for i, row in enumerate(result.confusion):
        print(
            f"{i:>5} " + " ".join(f"{v:>5}" for v in row) + f"   {names[i]} {100 * result.per_class_accuracy[i]:.1f}%"
        )


def _shipped_table(args) -> None:
    from cnnviz.core.inspect.layers import layer_table, total_connections
    from cnnviz.core.models.registry import build_model, list_models
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.training.evaluate import evaluate
    from cnnviz.core.weights.checkpoint import load_checkpoint

    print("| model | parameters | connections | MNIST | Fashion-MNIST | training (MNIST / Fashion) |")
    print("|---|---:|---:|---:|---:|---|")
    commands = []
    # The zoo, and the variants that ship weights of their own (LeNet-5 trained the 1998 way).
    shipped = [s for s in list_models(variants=True) if s.variant_of is None or any(
        pretrained_path(s.name, d).exists() for d in ("mnist", "fashion-mnist"))]  # fmt: skip
    for spec in shipped:
        cells, times = [], []
        for dataset in ("mnist", "fashion-mnist"):
            path = pretrained_path(spec.name, dataset)
            if not path.exists():
                cells.append("not shipped")
                continue
            model, meta = load_checkpoint(path, spec.name)
            cells.append(f"{100 * evaluate(model, dataset, args.data_dir).accuracy:.2f}%")
            times.append(
                f"{meta.get('epochs')} ep, {meta.get('training_seconds', 0) / 60:.0f} min {meta.get('device', '?')}"
            )
            commands.append(train_command(meta["recipe"], f"weights/{path.name}"))
        connections = total_connections(layer_table(build_model(spec.name)))
        print(
            f"| {spec.display_name} (`{spec.name}`) | {spec.num_params:,} | {connections:,} | {cells[0]} | {cells[1]} | "
            f"{' / '.join(times)} |"
        )
    print("\nTo reproduce (with CNNVIZ_DATA_DIR pointing at the datasets):\n")
    print("```bash")
    print("\n".join(commands))
    print("```")
