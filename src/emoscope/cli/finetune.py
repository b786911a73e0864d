"""``emoscope finetune MANIFEST --model NAME_OR_PATH -o OUT_DIR``: LoRA fine-tuning per fold."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console, console_err


def _split_names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


@app.command("finetune")
def finetune_command(
    manifest: Path = typer.Argument(
        ..., help="Training manifest (JSONL, from `emoscope prepare`)."
    ),
    model: str = typer.Option(
        ..., "--model", "-m", help="Base LALM: a family name or a checkpoint directory."
    ),
    out_dir: Path = typer.Option(
        ..., "-o", "--out-dir", help="Output folder (resumed if present)."
    ),
    family: str | None = typer.Option(
        None, "--family", help="LALM family, when --model is a hub id (e.g. qwen2-audio)."
    ),
    folds: str = typer.Option(
        "auto",
        "--folds",
        help="auto (the manifest's folds, else 5), manifest, loso, K (speaker-grouped folds) or "
        "none (one adapter on all speakers, no test).",
    ),
    labels: str | None = typer.Option(
        None, "--labels", help="Closed label set, comma-separated (default: the 7 canonical)."
    ),
    prompt: str = typer.Option("emotion-v1", "--prompt", help="Prompt template (as zero-shot)."),
    condition: str = typer.Option("audio", "--condition", help="audio, text or both."),
    mode: str = typer.Option("score", "--mode", help="score (label word) or choice (letter)."),
    head: str = typer.Option(
        "lm", "--head", help="lm (answer tokens) or classifier (linear head on pooled states)."
    ),
    epochs: float = typer.Option(3.0, "--epochs", help="Passes over each training fold."),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Optimizer steps per fold (overrides --epochs)."
    ),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate (AdamW, linear schedule)."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", help="AdamW weight decay."),
    seed: int = typer.Option(0, "--seed", help="Seed of folds, validation speakers, order, init."),
    rank: int = typer.Option(16, "--rank", help="LoRA rank."),
    alpha: float = typer.Option(32.0, "--alpha", help="LoRA alpha."),
    dropout: float = typer.Option(0.05, "--dropout", help="LoRA (and head) dropout."),
    target_modules: str = typer.Option(
        "q_proj,k_proj,v_proj,o_proj",
        "--target-modules",
        help="Language-model layers that get LoRA, comma-separated.",
    ),
    audio_encoder_lora: bool = typer.Option(
        False, "--audio-encoder-lora", help="Also put LoRA on the audio encoder's attention."
    ),
    batch_size: int = typer.Option(4, "--batch-size", help="Utterances per micro-batch."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    val_fraction: float = typer.Option(
        0.15, "--val-fraction", help="Share of each training fold's speakers held out to validate."
    ),
    patience: int = typer.Option(
        3, "--patience", help="Validations without a better UA before stopping (0: never)."
    ),
    eval_every: int = typer.Option(
        0, "--eval-every", help="Steps between validations (0: once per epoch)."
    ),
    checkpoint_every: int = typer.Option(
        0, "--checkpoint-every", help="Steps between checkpoints (0: at each validation)."
    ),
    balance: str = typer.Option(
        "loss", "--balance", help="Class balance: loss (weights), sampler or none."
    ),
    gradient_checkpointing: bool = typer.Option(
        True, "--gradient-checkpointing/--no-gradient-checkpointing", help="Save memory."
    ),
    mixed_precision: str = typer.Option(
        "no", "--mixed-precision", help="no, bf16 (CUDA or CPU) or fp16 (CUDA only)."
    ),
    load_in_4bit: bool = typer.Option(
        False, "--load-in-4bit", help="QLoRA: 4-bit NF4 base weights (bitsandbytes; CUDA or CPU)."
    ),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also score test folds zero-shot (adapter off)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Discard a run stored in OUT_DIR and start again."
    ),
) -> None:
    """Fine-tune an LALM with LoRA on speaker-independent folds; OUT_DIR/report.md.

    Each fold trains on the other folds' speakers and is tested on its own speakers.
    Speaker-disjoint validation inside the training folds decides early stopping.
    Adapters: OUT_DIR/<fold>/adapter. Run the same command again to resume.
    """
    import torch
    from accelerate import PartialState
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from emoscope.labels import CANONICAL_LABELS
    from emoscope.models.finetune.config import FinetuneConfig
    from emoscope.models.finetune.crossval import finetune, parse_folds

    config = FinetuneConfig(
        model=model,
        family=family,
        labels=_split_names(labels) if labels else CANONICAL_LABELS,
        prompt=prompt,
        condition=condition,
        mode=mode,
        head=head,
        rank=rank,
        alpha=alpha,
        dropout=dropout,
        target_modules=_split_names(target_modules),
        audio_encoder_lora=audio_encoder_lora,
        lr=lr,
        weight_decay=weight_decay,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        grad_accum=grad_accum,
        balance=balance,
        val_fraction=val_fraction,
        patience=patience,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        seed=seed,
        gradient_checkpointing=gradient_checkpointing,
        mixed_precision=mixed_precision,
        load_in_4bit=load_in_4bit,
        baseline=baseline,
    )
    fold_plan = parse_folds(folds)
    # under `accelerate launch` the other processes train silently
    # (cpu= as make_accelerator does: a plain PartialState() would miss a CPU process group)
    main_process = PartialState(cpu=not torch.cuda.is_available()).is_main_process
    with Progress(
        TextColumn("[bold]finetune[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
        disable=not main_process,
    ) as progress:
        task = progress.add_task("", total=None, loss="-")

        def update(fold: str, step: int, total: int, loss: float) -> None:
            progress.update(task, description=fold, completed=step, total=total, loss=f"{loss:.4f}")

        report = finetune(
            manifest, config, out_dir, folds=fold_plan, overwrite=overwrite, progress=update
        )
    if not main_process:
        return
    summary = report["summary"]
    if "test" in summary:
        ua = summary["test"]["ua"]
        line = f"UA {ua['mean']:.3f} ± {ua['sd']:.3f} over {summary['n_folds']} folds"
        if "zero_shot" in summary:
            line += f" (zero-shot {summary['zero_shot']['ua']['mean']:.3f})"
        console.print(line, highlight=False)
    console.print(f"report: {out_dir / 'report.md'}", highlight=False)
