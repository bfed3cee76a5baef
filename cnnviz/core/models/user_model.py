"""The user's own network, from a Python file they name: ``PATH.py:NAME``.

The file defines an ``nn.Module`` subclass (or a function returning one) that
maps N x 1 x 28 x 28 images in [0, 1] to N x 10 class scores. Loading it runs
the file's code, so it is only ever done for a path the user picked or typed:
nothing read from a weights file or from settings leads here.

A bad file is one sentence (``UserModelError``); a slow network is a warning
on the registered spec, and it still loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import sys
import time
import types
from collections.abc import Callable
from dataclasses import replace as with_fields
from pathlib import Path

import torch
from torch import nn

from cnnviz.core.before_torch.model_argument import is_user_spec  # noqa: F401 (re-exported)
from cnnviz.core.errors import CnnvizError, UserModelError
from cnnviz.core.inspect.layers import stages
from cnnviz.core.models.registry import ModelSpec, count_parameters, list_models, register_model

# One image slower than this makes every stroke in the app feel sluggish.
SLOW_SECONDS = 2.0
BUILD_FUNCTION = "build"  # used when the spec names nothing and the file has several classes


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``PATH.py:NAME`` -> (``PATH.py``, ``NAME``); ``PATH.py`` -> (``PATH.py``, None)."""
    if spec.endswith(".py"):
        return spec, None
    path, _, name = spec.rpartition(":")  # the last colon: a Windows path has one too
    if not path.endswith(".py") or not name.isidentifier():
        raise UserModelError(f"'{spec}' is not a network file: write PATH.py or PATH.py:NAME (a class or function).")
    return path, name


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_stem(model_name: str) -> str:
    """A file-name-safe form of a model name: ``my_net.py:Net`` -> ``my_net-Net``; zoo names unchanged."""
    if ".py:" not in model_name:
        return model_name
    file_name, _, obj = model_name.partition(":")
    return f"{file_name.removesuffix('.py')}-{obj}"


def resolve_model_name(arg: str, warn: Callable[[str], None] | None = None) -> str:
    """The registered name for a model argument: loads ``PATH.py[:NAME]``, passes a zoo name through.

    Parameters
    ----------
    arg
        A zoo name (``lenet5``) or a network file (``my_net.py:Net``).
    warn
        Receives each warning of the loaded network (default: printed to stderr).
    """
    if not is_user_spec(arg):
        return arg
    from cnnviz.core.models.probe import probe_network  # the fence: the file is tried in a child process first

    path, name = parse_spec(arg)
    result = probe_network(arg, slow_seconds=SLOW_SECONDS)
    if result.needs_choice:
        name = result.networks[-1]
        raise UserModelError(
            f"{Path(path).name} defines {len(result.networks)} networks ({', '.join(result.networks)}): "
            f"say which, e.g. {Path(path).name}:{name}."
        )
    spec = load_user_model(f"{path}:{result.name}", check=False)
    spec = with_fields(spec, warnings=tuple(result.warnings))
    register_model(spec, replace=True)
    for message in spec.warnings:
        (warn or (lambda m: print(f"cnnviz: warning: {m}", file=sys.stderr)))(message)
    return spec.name


def load_user_model(spec: str, check: bool = True) -> ModelSpec:
    """Run a network file, check its network, and register it as a model.

    Parameters
    ----------
    spec
        ``PATH.py:NAME``, NAME a class or function in the file. Without NAME:
        the file's ``build()`` function if it has one, else its only
        ``nn.Module`` subclass.
    check
        Run the network on sample images (False when ``probe.Probe`` has just done so in a child
        process, so that a slow forward never runs here).

    Returns
    -------
    ModelSpec
        Registered as ``FILE.py:NAME`` (replacing an earlier load of the same
        name) with display name ``NAME (FILE.py)``, the file's absolute path
        and SHA-256, and ``warnings`` (e.g. a network slower than 2 s per image).

    Raises
    ------
    UserModelError
        One sentence for: no such file, a syntax error (file and line), an
        import error (the module), no NAME in the file, NAME neither an
        ``nn.Module`` subclass nor a function returning one, a constructor
        that needs arguments, building or ``forward`` raising (the exception),
        an output that is not N x 10 (the shape it gave).
    """
    path_arg, name = parse_spec(spec)
    path = Path(path_arg).expanduser()
    if not path.is_file():
        raise UserModelError(f"There is no network file '{path_arg}'.")
    path = path.resolve()
    data = path.read_bytes()
    module = _run_file(path, data)
    name, builder = _pick(module, path, name)
    model = _build(builder, name, path)
    warnings = _check(model, name, path) if check else []
    list_models()  # the zoo registers first, so it stays at the head of the list
    return register_model(
        ModelSpec(
            name=f"{path.name}:{name}",
            display_name=f"{name} ({path.name})",
            builder=builder,
            reference=f"your network in {path}",
            description=_first_line(inspect.getdoc(builder) or "") or f"{name} from {path.name}",
            source_path=str(path),
            source_sha256=hashlib.sha256(data).hexdigest(),
            warnings=tuple(warnings),
        ),
        replace=True,
    )


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0].rstrip(".") if lines else ""


def _line_in(exc: BaseException, path: Path) -> str:
    """', line N' of the last traceback frame inside the user's file, else ''."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", line {line}" if line else ""


def _raised(exc: BaseException) -> str:
    message = _first_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _run_file(path: Path, data: bytes) -> types.ModuleType:
    try:
        code = compile(data, str(path), "exec")
    except SyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise UserModelError(f"{path.name}{line}: {exc.msg}.") from None
    except ValueError as exc:  # null bytes: not a text file
        raise UserModelError(f"{path.name} is not Python source ({_first_line(str(exc))}).") from None
    # A name of its own per content, so `if __name__ == "__main__":` blocks do not run and a
    # reloaded file never shares a module with its earlier version.
    module_name = f"cnnviz_user_{path.stem}_{hashlib.sha256(data).hexdigest()[:12]}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses and pickling look classes up here
    sys.path.insert(0, str(path.parent))  # the file may import its neighbours
    try:
        exec(code, module.__dict__)
    except ImportError as exc:
        del sys.modules[module_name]
        what = f"module '{exc.name}'" if exc.name else "a module"
        raise UserModelError(f"{path.name}{_line_in(exc, path)}: cannot import {what} ({_raised(exc)}).") from None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the user's code never ends the app
        del sys.modules[module_name]
        raise UserModelError(f"{path.name}{_line_in(exc, path)}: running the file raised {_raised(exc)}.") from None
    finally:
        with contextlib.suppress(ValueError):  # the file may have edited sys.path itself
            sys.path.remove(str(path.parent))
    return module


def _networks_in(module: types.ModuleType) -> list[str]:
    """Names of the nn.Module subclasses the file itself defines (not those it imports)."""
    return [
        key
        for key, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == module.__name__
    ]


def _pick(module: types.ModuleType, path: Path, name: str | None) -> tuple[str, Callable[[], nn.Module]]:
    networks = _networks_in(module)
    if name is None:
        if callable(getattr(module, BUILD_FUNCTION, None)):
            name = BUILD_FUNCTION
        elif len(networks) == 1:
            name = networks[0]
        elif not networks:
            raise UserModelError(f"{path.name} defines no nn.Module subclass; name a function that builds one.")
        else:
            raise UserModelError(
                f"{path.name} defines {len(networks)} networks ({', '.join(networks)}): "
                f"say which, e.g. {path.name}:{networks[-1]}."
            )
    if name not in vars(module):
        defined = f" (it defines {', '.join(networks)})" if networks else ""
        raise UserModelError(f"{path.name} has no '{name}'{defined}.")
    obj = vars(module)[name]
    is_class = isinstance(obj, type)
    if is_class and not issubclass(obj, nn.Module):
        raise UserModelError(f"'{name}' in {path.name} is a class but not an nn.Module subclass.")
    if not callable(obj):
        raise UserModelError(
            f"'{name}' in {path.name} is not an nn.Module subclass or a function that returns one "
            f"(it is of type {type(obj).__name__})."
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        signature = None
    if signature is not None:
        required = [
            p.name
            for p in signature.parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:
            needs = "its constructor needs" if is_class else "it needs"
            raise UserModelError(
                f"{name} in {path.name} cannot be built without arguments: {needs} "
                f"{', '.join(required)}; give them defaults or add a function that builds the network."
            )
    return name, obj


def _build(builder: Callable[[], nn.Module], name: str, path: Path) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # loading a file must not move the global RNG
        try:
            model = builder()
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too
            raise UserModelError(f"Building {name} raised {_raised(exc)} ({path.name}{_line_in(exc, path)}).") from None
    if not isinstance(model, nn.Module):
        raise UserModelError(
            f"{name}() in {path.name} returned an object of type {type(model).__name__}, not an nn.Module."
        )
    return model


def _forward(model: nn.Module, x: torch.Tensor, name: str, path: Path) -> torch.Tensor:
    try:
        with torch.no_grad():
            out = model(x)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too
        raise UserModelError(
            f"{name}'s forward raised {_raised(exc)} ({path.name}{_line_in(exc, path)}) "
            f"for {x.shape[0]} x 1 x 28 x 28 input."
        ) from None
    if not isinstance(out, torch.Tensor):
        raise UserModelError(
            f"{name} returned an object of type {type(out).__name__}, not a tensor of N x 10 class scores."
        )
    if tuple(out.shape) != (x.shape[0], 10):
        shape = " x ".join(map(str, out.shape)) or "a single number"
        raise UserModelError(
            f"{name} returned shape {shape} for {x.shape[0]} x 1 x 28 x 28 input; it must return N x 10 class scores."
        )
    if not out.is_floating_point():
        raise UserModelError(
            f"{name} returned {str(out.dtype).removeprefix('torch.')} scores; it must return floating-point "
            f"class scores (e.g. add .float())."
        )
    if not bool(torch.isfinite(out).all()):
        raise UserModelError(
            f"{name} returned NaN or infinite scores for a random image, so there is no answer to show or train; "
            f"check its forward (a log or division of zero?)."
        )
    return out


def _check(model: nn.Module, name: str, path: Path) -> list[str]:
    """Run the network as the app will; the warnings it deserves."""
    try:
        stages(model)
    except CnnvizError as exc:
        raise UserModelError(str(exc)) from None
    warnings = []
    if count_parameters(model) == 0:
        warnings.append(f"{name} has no trainable parameters, so training cannot change it.")
    generator = torch.Generator().manual_seed(0)
    model.eval()
    start = time.perf_counter()
    _forward(model, torch.rand(1, 1, 28, 28, generator=generator), name, path)
    seconds = time.perf_counter() - start
    if seconds > SLOW_SECONDS:  # the first call may pay one-off costs; time a second one
        start = time.perf_counter()
        _forward(model, torch.rand(1, 1, 28, 28, generator=generator), name, path)
        seconds = time.perf_counter() - start
    if seconds > SLOW_SECONDS:
        warnings.append(f"{name} takes {seconds:.1f} s for one image, so the app will answer each stroke slowly.")
    # A batch in training mode, as training will run it (batch norm needs more than one image).
    model.train()
    _forward(model, torch.rand(2, 1, 28, 28, generator=generator), name, path)
    return warnings
