"""Train one LoRA adapter on one fold: early stopping on validation UA, resumable checkpoints.

:func:`train_fold` loads the base checkpoint, puts LoRA on the language model (and optionally the
audio encoder), and runs AdamW with a linear warm-up/decay schedule through accelerate (one
process, or several under ``accelerate launch``). Every ``eval_every`` steps it scores the
speaker-disjoint validation set exactly as zero-shot scoring does and keeps the weights with the
best validation UA (ties: lower validation loss); it stops after ``patience`` evaluations without
improvement. Checkpoints hold everything the loop needs to continue bit for bit.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.models.finetune import batches as B
from emoscope.models.finetune.checkpoint import (
    find_checkpoint,
    load_checkpoint_into,
    load_trainable,
    rng_state,
    save_checkpoint,
    save_weights,
)
from emoscope.models.finetune.config import FinetuneConfig
from emoscope.models.finetune.head import HEAD_FILE, build_head, hidden_size_of, pooled_hidden
from emoscope.models.finetune.targets import lora_target_pattern, trainable_summary
from emoscope.types import Utterance

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
BEST_FILE = "best.safetensors"
LOG_FILE = "train_log.jsonl"
META_FILE = "finetune.json"
TRAINING_MANIFEST = "training_manifest.jsonl"  # read by the evaluation leakage guard

StepHook = Callable[[int, int, float], None]
"""Called after every optimizer step with ``(step, total_steps, loss)``."""


class TrainingInterrupted(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by a step hook to stop training after a checkpoint (used to test resuming)."""


@dataclass
class FoldOutcome:
    """What training on one fold produced."""

    steps: int
    total_steps: int
    best_step: int
    best_val_ua: float
    best_val_loss: float
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    trainable: dict[str, Any] = field(default_factory=dict)


def resolve_family(config: FinetuneConfig) -> tuple[str, str]:
    """Return ``(family, checkpoint)`` of the base model ``config.model`` names.

    Raises:
        UsageError: If the family cannot be told.
    """
    from emoscope.models.lalm.families import FAMILIES, family_of_model_type
    from emoscope.models.lalm.loading import model_type_of

    if config.model in FAMILIES:
        spec = FAMILIES[config.model]
        return config.family or spec.name, spec.default_checkpoint
    path = Path(config.model).expanduser()
    if config.family is not None:
        if config.family not in FAMILIES:
            raise UsageError(
                f"Unknown LALM family {config.family!r}. Known: {', '.join(FAMILIES)}."
            )
        return config.family, str(path) if path.is_dir() else config.model
    if path.is_dir():
        model_type = model_type_of(path)
        spec = family_of_model_type(model_type) if model_type else None
        if spec is None:
            raise UsageError(
                f"{path}: config.json's model_type {model_type!r} is not a supported LALM family "
                f"({', '.join(FAMILIES)}). Give --family if it is one of them."
            )
        return spec.name, str(path)
    raise UsageError(
        f"--model {config.model!r} is neither an LALM family ({', '.join(FAMILIES)}) nor a "
        "checkpoint directory. Give --family with a hub id."
    )


def lalm_config(config: FinetuneConfig, *, device: str, adapter: str | None = None) -> Any:
    """Return the zero-shot backend config with the same prompt, labels and checkpoint."""
    from emoscope.models.lalm.config import CONFIG_OF_FAMILY

    family, checkpoint = resolve_family(config)
    return CONFIG_OF_FAMILY[family](
        model=checkpoint,
        adapter=adapter,
        dtype=config.dtype,
        device=device,
        device_map=device if config.load_in_4bit else None,
        load_in_4bit=config.load_in_4bit,
        mode=config.mode,
        prompt=config.prompt,
        condition=config.condition,
        labels=config.labels,
        batch_size=config.batch_size,
    )


def make_accelerator(config: FinetuneConfig) -> Any:
    """Return an accelerate ``Accelerator``: CUDA if present, else CPU (also under the launcher).

    ``bf16`` mixed precision runs on CUDA and on CPU (``torch.autocast``); ``fp16`` needs CUDA
    (its gradient scaler). 4-bit loading is checked where the model loads
    (:func:`emoscope.models.lalm.loading.load_checkpoint`).

    Raises:
        UsageError: If fp16 is asked for without CUDA.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedDataParallelKwargs

    cuda = torch.cuda.is_available()
    if not cuda and config.mixed_precision == "fp16":
        raise UsageError(
            "--mixed-precision fp16 needs a CUDA GPU (its loss scaler runs there); this machine "
            "has none. Use --mixed-precision bf16 (CPU autocast) or no (float32)."
        )
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != config.mixed_precision:
        # accelerate keeps one precision per process; a later run in the same process (the
        # Python API, tests) with another one starts a new accelerator state (the process
        # group, if any, is kept)
        AcceleratorState._reset_state(reset_partial_state=False)
    # LoRA on the audio encoder gets no gradient when the prompt has no audio
    unused = config.audio_encoder_lora and config.condition == "text"
    ddp = DistributedDataParallelKwargs(find_unused_parameters=unused)
    return Accelerator(cpu=not cuda, mixed_precision=config.mixed_precision, kwargs_handlers=[ddp])


@dataclass
class Session:
    """A loaded base model with a fresh adapter, ready to train or score one fold."""

    config: FinetuneConfig
    accelerator: Any
    module: Any
    spec: B.PromptSpec
    trainable: dict[str, Any]
    dtype: Any = None

    @property
    def unwrapped(self) -> Any:
        """The module without the distributed wrapper."""
        return self.accelerator.unwrap_model(self.module)

    def predict_proba(self, utterances: Sequence[Utterance], *, adapter: bool = True) -> np.ndarray:
        """Return ``(n, K)`` label probabilities (zero-shot scoring, or the classifier head).

        Under several processes each scores its share and every process gets all the rows
        (in order), so that they all take the same early-stopping decisions.
        """
        acc = self.accelerator
        if acc.num_processes == 1:
            return self._predict(utterances, adapter=adapter)
        from accelerate.utils import gather_object

        with acc.split_between_processes(list(utterances)) as share:
            mine = self._predict(share, adapter=adapter)
        return np.concatenate(gather_object([mine]))

    def _predict(self, utterances: Sequence[Utterance], *, adapter: bool) -> np.ndarray:
        import contextlib

        import torch

        from emoscope.models.lalm.scoring import score_labels, scores_to_probabilities

        module = self.unwrapped
        module.eval()
        rows = []
        size = self.config.batch_size
        device = self.accelerator.device
        for i in range(0, len(utterances), size):
            batch = list(utterances[i : i + size])
            inputs = B.prompt_inputs(self.spec, batch).to(device, dtype=self.dtype)
            if self.config.head == "classifier":
                kwargs = B.model_kwargs(
                    dict(inputs), explicit_position_ids=self.spec.explicit_position_ids
                )
                with torch.inference_mode(), self.accelerator.autocast():
                    logits = module.head(pooled_hidden(module.lalm, kwargs)).float()
                rows.append(torch.softmax(logits, -1).cpu().numpy().astype(np.float64))
                continue
            off = contextlib.nullcontext() if adapter else module.lalm.disable_adapter()
            with off, self.accelerator.autocast():
                scores = score_labels(
                    module.lalm,
                    inputs,
                    self.spec.continuations,
                    explicit_position_ids=self.spec.explicit_position_ids,
                    pad_token_id=self.spec.pad_token_id,
                )
            lengths = [len(c) for c in self.spec.continuations]
            rows.append(scores_to_probabilities(scores.numpy().astype(np.float64), lengths))
        return np.concatenate(rows) if rows else np.zeros((0, len(self.spec.labels)))

    def loss(self, batch: Sequence[Utterance], targets: Sequence[int], weights: Any) -> Any:
        """Return the weighted training loss of one micro-batch (through the wrapped module)."""
        import torch

        device = self.accelerator.device
        w = torch.as_tensor(np.asarray(weights), dtype=torch.float32, device=device)
        if self.config.head == "classifier":
            inputs = dict(B.prompt_inputs(self.spec, batch).to(device, dtype=self.dtype))
            kwargs = B.model_kwargs(inputs, explicit_position_ids=self.spec.explicit_position_ids)
            y = torch.as_tensor(list(targets), device=device)
            return self.module(kwargs, w, targets=y)
        inputs = B.answer_batch(self.spec, batch, targets)
        inputs = {
            k: v.to(device, dtype=self.dtype) if v.is_floating_point() else v.to(device)
            for k, v in inputs.items()
        }
        kwargs = B.model_kwargs(inputs, explicit_position_ids=self.spec.explicit_position_ids)
        return self.module(kwargs, w, labels=inputs["labels"])


def open_session(config: FinetuneConfig, accelerator: Any) -> Session:
    """Load the base checkpoint, add a fresh (seeded) LoRA adapter and head."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    from emoscope.models.lalm.families import FAMILIES
    from emoscope.models.lalm.loading import load_checkpoint
    from emoscope.models.lalm.prompting import answer_suffix
    from emoscope.models.lalm.scoring import continuation_ids
    from emoscope.prompts import load_prompt

    lconf = lalm_config(config, device=str(accelerator.device))
    model, processor = load_checkpoint(lconf)
    family = FAMILIES[lconf.family]
    prompt = load_prompt(config.prompt)
    answers = (
        prompt.letters(config.labels) if config.mode == "choice" else prompt.answers(config.labels)
    )
    tok = processor.tokenizer
    spec = B.PromptSpec(
        processor=processor,
        prompt=prompt,
        family=family,
        condition=config.condition,
        mode=config.mode,
        labels=config.labels,
        continuations=continuation_ids(tok, answers, suffix=answer_suffix(processor)),
        explicit_position_ids=family.explicit_position_ids,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
    )
    gc_kwargs = {"use_reentrant": False}
    if config.load_in_4bit:
        keep_4bit_differentiable(model)
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs=gc_kwargs,
        )
    elif config.gradient_checkpointing:
        enable = getattr(model, "activation_checkpointing_enable", None)
        if enable is not None:  # transformers >= 5.x name; it also makes inputs require grads
            enable(activation_checkpointing_kwargs=gc_kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gc_kwargs)
            model.enable_input_require_grads()
    pattern = lora_target_pattern(
        model,
        target_modules=config.target_modules,
        audio_encoder=config.audio_encoder_lora,
        audio_target_modules=config.audio_target_modules,
    )
    torch.manual_seed(config.seed)
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=pattern,
        bias="none",
    )
    lalm = get_peft_model(model, lora)
    head = None
    if config.head == "classifier":
        head = build_head(hidden_size_of(model), len(config.labels), dropout=config.dropout)
        head.to(accelerator.device)
    from emoscope.models.finetune.module import TrainModule

    module = TrainModule(lalm, head)
    summary = trainable_summary(module)
    return Session(config, accelerator, module, spec, summary, dtype=model.dtype)


def keep_4bit_differentiable(model: Any) -> int:
    """Keep ``model``'s 4-bit layers in bitsandbytes' differentiable weight layout; return how many.

    On CPUs with AVX512-BF16, bitsandbytes (0.50) repacks a ``Linear4bit``'s weights for a faster
    inference kernel at its first forward in eval mode without gradients (a validation pass), for
    good. That kernel has no backward: the training steps after the first validation would then
    lose, silently, every gradient that flows through the frozen base layers to the LoRA weights
    below them. Training and validation share the differentiable layout instead.
    """
    n = 0
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def _optimizer(module: Any, config: FinetuneConfig) -> Any:
    import torch

    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or name.endswith(".bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=config.lr)


def plan_steps(n_train: int, config: FinetuneConfig, n_processes: int = 1) -> tuple[int, int]:
    """Return ``(micro-batches per epoch, total optimizer steps)``.

    Examples:
        >>> plan_steps(10, FinetuneConfig(model="x", batch_size=4, epochs=2))
        (3, 6)
        >>> plan_steps(10, FinetuneConfig(model="x", batch_size=4, max_steps=5))
        (3, 5)
    """
    per_epoch = math.ceil(n_train / config.batch_size)
    if config.max_steps is not None:
        return per_epoch, config.max_steps
    per_step = config.grad_accum * n_processes
    return per_epoch, max(1, math.ceil(config.epochs * per_epoch / per_step))


def _micro_batch(
    j: int, targets: Sequence[int], config: FinetuneConfig, per_epoch: int
) -> np.ndarray:
    epoch, pos = divmod(j, per_epoch)
    order = B.epoch_order(
        targets, seed=config.seed, epoch=epoch, balanced=config.balance == "sampler"
    )
    return order[pos * config.batch_size : (pos + 1) * config.batch_size]


def validation_figures(
    proba: np.ndarray, targets: Sequence[int], n_labels: int
) -> tuple[float, float]:
    """Return ``(UA, mean closed-set cross-entropy)`` of validation predictions.

    Examples:
        >>> validation_figures(np.array([[0.9, 0.1], [0.4, 0.6]]), [0, 0], 2)[0]
        0.5
    """
    from emoscope.evaluation.metrics import unweighted_accuracy

    y = np.asarray(targets)
    ua = unweighted_accuracy(y, proba.argmax(1), n_labels=n_labels)
    loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean())
    return float(ua), loss


def _better(ua: float, loss: float, best_ua: float, best_loss: float) -> bool:
    return ua > best_ua + 1e-9 or (abs(ua - best_ua) <= 1e-9 and loss < best_loss - 1e-9)


def export_adapter(
    session: Session, folder: Path, *, training: Manifest, meta: dict[str, Any]
) -> Path:
    """Write the current adapter as a PEFT folder (+ head, training manifest, metadata)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    module = session.unwrapped
    module.lalm.save_pretrained(str(folder))
    if session.config.head == "classifier":
        state = {k: v.detach().cpu().contiguous() for k, v in module.head.state_dict().items()}
        save_file(state, str(folder / HEAD_FILE))
    training.to_jsonl(folder / TRAINING_MANIFEST)
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    return folder


def train_fold(
    session: Session,
    fold_dir: Path,
    *,
    train: Manifest,
    valid: Manifest,
    on_step: StepHook | None = None,
) -> FoldOutcome:
    """Train ``session``'s adapter on ``train``, selecting on ``valid``; resume if possible.

    The best adapter is exported to ``fold_dir/adapter`` as it is found; at the end the best
    weights are back in ``session`` for testing.

    Raises:
        TrainingInterrupted: If ``on_step`` raises it (the checkpoint of that step is written).
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    config = session.config
    acc = session.accelerator
    fold_dir = Path(fold_dir)
    fold_dir.mkdir(parents=True, exist_ok=True)
    index = {label: i for i, label in enumerate(config.labels)}
    train_u = list(train)
    valid_u = list(valid)
    targets = [index[u.canonical] for u in train_u]
    valid_targets = [index[u.canonical] for u in valid_u]
    k = len(config.labels)
    weights = (
        B.class_weights(targets, k) if config.balance == "loss" else np.ones(k, dtype=np.float64)
    )
    per_epoch, total = plan_steps(len(train_u), config, acc.num_processes)
    steps_per_epoch = max(1, math.ceil(per_epoch / (config.grad_accum * acc.num_processes)))
    eval_every = config.eval_every or steps_per_epoch
    ckpt_every = config.checkpoint_every or eval_every

    module = session.module
    optimizer = _optimizer(module, config)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    module, optimizer = acc.prepare(module, optimizer)
    session.module = module
    state: dict[str, Any] = {
        "step": 0,
        "best_step": 0,
        "best_val_ua": -1.0,
        "best_val_loss": float("inf"),
        "bad_evals": 0,
        "stopped_early": False,
        "history": [],
    }
    found = find_checkpoint(fold_dir)
    if found is not None:
        state = load_checkpoint_into(
            found,
            module=acc.unwrap_model(module),
            optimizer=optimizer,
            scheduler=scheduler,
            process_index=acc.process_index,
        )
        log.info("%s: resuming at step %d of %d", fold_dir.name, state["step"], total)
    meta = {
        "config": session.config.to_dict(),
        "labels": list(config.labels),
        "trainable": session.trainable,
        "fold": fold_dir.name,
        "processes": acc.num_processes,
    }
    training = Manifest([*train_u, *valid_u])
    params = [p for p in module.parameters() if p.requires_grad]
    step = int(state["step"])
    while step < total and not state["stopped_early"]:
        module.train()
        loss_sum = 0.0
        for r in range(config.grad_accum):
            j = (step * acc.num_processes + acc.process_index) * config.grad_accum + r
            idx = _micro_batch(j, targets, config, per_epoch)
            batch = [train_u[i] for i in idx]
            y = [targets[i] for i in idx]
            sync = r == config.grad_accum - 1
            ctx = acc.no_sync(module) if not sync and acc.num_processes > 1 else _null()
            with ctx:
                loss = session.loss(batch, y, weights[y])
                acc.backward(loss / config.grad_accum)
            loss_sum += float(loss.detach()) / config.grad_accum
        if acc.num_processes > 1:  # the step's loss over every process's micro-batches
            mean = acc.reduce(torch.tensor(loss_sum, device=acc.device), reduction="mean")
            loss_sum = float(mean)
        if config.max_grad_norm > 0:
            acc.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        state["step"] = step
        entry: dict[str, Any] = {"step": step, "loss": round(loss_sum, 6)}
        if step % eval_every == 0 or step == total:
            proba = session.predict_proba(valid_u)
            ua, vloss = validation_figures(proba, valid_targets, k)
            entry.update({"val_ua": round(ua, 6), "val_loss": round(vloss, 6)})
            if _better(ua, vloss, state["best_val_ua"], state["best_val_loss"]):
                state.update(best_step=step, best_val_ua=ua, best_val_loss=vloss, bad_evals=0)
                if acc.is_main_process:
                    save_weights(acc.unwrap_model(module), fold_dir / BEST_FILE)
                    export_adapter(
                        session,
                        fold_dir / ADAPTER_DIR,
                        training=training,
                        meta={**meta, "step": step, "val_ua": ua, "val_loss": vloss},
                    )
            else:
                state["bad_evals"] += 1
                if config.patience and state["bad_evals"] >= config.patience:
                    state["stopped_early"] = True
        state["history"].append(entry)
        if acc.is_main_process:
            with (fold_dir / LOG_FILE).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
        if step % ckpt_every == 0 or step == total or state["stopped_early"]:
            rng = [rng_state()]
            if acc.num_processes > 1:  # every process's generator, for an exact resume
                from accelerate.utils import gather_object

                rng = gather_object(rng)
            if acc.is_main_process:
                save_checkpoint(
                    fold_dir,
                    module=acc.unwrap_model(module),
                    optimizer=optimizer,
                    scheduler=scheduler,
                    state=state,
                    rng=rng,
                )
        acc.wait_for_everyone()
        if on_step is not None:
            on_step(step, total, loss_sum)
    with torch.no_grad():
        load_trainable(acc.unwrap_model(module), fold_dir / BEST_FILE)
    return FoldOutcome(
        steps=step,
        total_steps=total,
        best_step=int(state["best_step"]),
        best_val_ua=float(state["best_val_ua"]),
        best_val_loss=float(state["best_val_loss"]),
        stopped_early=bool(state["stopped_early"]),
        history=list(state["history"]),
        trainable=session.trainable,
    )


def _null() -> Any:
    import contextlib

    return contextlib.nullcontext()
