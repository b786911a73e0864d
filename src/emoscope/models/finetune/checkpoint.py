"""Training checkpoints: trainable weights, optimizer, scheduler, RNG state and loop state.

A checkpoint folder is written next to the old one and swapped in by renames, so a run killed
while saving still finds a complete checkpoint. Only the trainable parameters (LoRA, head) are
stored: megabytes, not the base model's gigabytes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

CHECKPOINT = "checkpoint"
STATE_FILE = "state.json"
WEIGHTS_FILE = "trainable.safetensors"


def trainable_state(module: Any) -> dict[str, Any]:
    """Return ``{name: tensor}`` of the parameters that require gradients (detached copies)."""
    return {
        n: p.detach().to("cpu", copy=True).contiguous()
        for n, p in module.named_parameters()
        if p.requires_grad
    }


def load_trainable(module: Any, path: Path) -> None:
    """Copy the tensors of a :func:`trainable_state` file into ``module``'s parameters.

    Raises:
        ValueError: If a stored name is not a trainable parameter of ``module``.
    """
    import torch
    from safetensors.torch import load_file

    stored = load_file(str(path))
    params = dict(module.named_parameters())
    missing = sorted(set(stored) - {n for n, p in params.items() if p.requires_grad})
    if missing:
        raise ValueError(f"{path}: parameters {missing[:3]} are not trainable parameters here")
    with torch.no_grad():
        for name, tensor in stored.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))


def save_weights(module: Any, path: Path) -> None:
    """Write :func:`trainable_state` of ``module`` to ``path`` (safetensors)."""
    from safetensors.torch import save_file

    save_file(trainable_state(module), str(path))


def rng_state() -> dict[str, Any]:
    """Return this process's torch (and CUDA) random-number generator state."""
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    folder: Path,
    *,
    module: Any,
    optimizer: Any,
    scheduler: Any,
    state: dict[str, Any],
    rng: list[dict[str, Any]] | None = None,
) -> Path:
    """Write a checkpoint into ``folder/checkpoint`` (atomically swapped in) and return it.

    Args:
        folder: The fold's folder.
        module: The trained module (its trainable parameters are saved).
        optimizer: The optimizer.
        scheduler: The learning-rate scheduler.
        state: The loop's state (JSON).
        rng: Every process's :func:`rng_state`, in process order (several processes draw
            different numbers: their micro-batches differ in shape); ``None``: this one's.
    """
    import torch

    final = Path(folder) / CHECKPOINT
    tmp = final.with_name(CHECKPOINT + ".tmp")
    old = final.with_name(CHECKPOINT + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_weights(module, tmp / WEIGHTS_FILE)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save({"processes": rng if rng is not None else [rng_state()]}, tmp / "rng.pt")
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def find_checkpoint(folder: Path) -> Path | None:
    """Return the latest complete checkpoint folder under ``folder``, or ``None``."""
    for name in (CHECKPOINT, CHECKPOINT + ".old"):
        path = Path(folder) / name
        if (path / STATE_FILE).is_file():
            return path
    return None


def load_checkpoint_into(
    path: Path, *, module: Any, optimizer: Any, scheduler: Any, process_index: int = 0
) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and RNG from ``path``; return the loop state.

    Process ``process_index`` gets its own saved RNG state (the first one's if the checkpoint
    was written by fewer processes).
    """
    import torch

    load_trainable(module, path / WEIGHTS_FILE)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    saved = torch.load(path / "rng.pt", weights_only=True)
    states = saved.get("processes", [saved])  # older checkpoints: one state
    _set_rng_state(states[process_index] if process_index < len(states) else states[0])
    return json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
