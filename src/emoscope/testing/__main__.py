"""``python -m emoscope.testing COMMAND ...``: build synthetic test fixtures from the shell.

Commands:
    tiny-lalm OUT_DIR [--family qwen2-audio|audio-flamingo-3] [--seed N]
        Write a tiny random audio-language-model checkpoint (loads with from_pretrained and
        with ``emoscope analyze --model OUT_DIR``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def _tiny_lalm(args: argparse.Namespace) -> int:
    from emoscope.testing.tiny_lalm import build_tiny_lalm

    out = build_tiny_lalm(Path(args.out_dir), family=args.family, seed=args.seed)
    print(f"tiny {args.family} checkpoint written to {out}/")
    return 0


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    from emoscope.testing.tiny_lalm import FAMILIES

    parser = argparse.ArgumentParser(
        prog="python -m emoscope.testing", description="Build synthetic test fixtures."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tiny = sub.add_parser("tiny-lalm", help="write a tiny random audio-language model")
    tiny.add_argument("out_dir", help="folder to write the checkpoint to")
    tiny.add_argument("--family", choices=FAMILIES, default="qwen2-audio")
    tiny.add_argument("--seed", type=int, default=0)
    return parser, {"tiny-lalm": _tiny_lalm}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    parser, commands = _parser()
    args = parser.parse_args(argv)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
