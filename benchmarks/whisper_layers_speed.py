"""Speed of the Whisper tiny.en encoder on 3-s clips: CTranslate2 int8 vs PyTorch float32.

CTranslate2 gives the last layer only; the PyTorch rebuild (``emoscope.features.
whisper_layers``) returns every layer.

Run: ``python benchmarks/whisper_layers_speed.py [--threads 1 2] [--repeats 5]``. Encoder
only (log-mel input, no eGeMAPS), best of ``--repeats`` runs; prints a table of milliseconds
per clip. The two encoders are timed in turns in the same process, so on a shared machine
compare them within one run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import emoscope.features  # noqa: F401  (sets OMP_WAIT_POLICY before torch loads)


def best_ms_per_clip(fn, n: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import ctranslate2
    import torch

    from emoscope.features.whisper_layers import TorchWhisperEncoder, default_model_file

    mels = np.random.default_rng(0).normal(size=(16, 80, 300)).astype(np.float32)  # 3 s each
    torch_encoder = TorchWhisperEncoder()
    print(f"CPU cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    print()
    print("| encoder | threads | batch | ms per 3-s clip |")
    print("|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        ct2 = ctranslate2.models.Whisper(
            str(default_model_file().parent),
            device="cpu",
            compute_type="int8",
            intra_threads=threads,
        )
        for batch in (1, 16):
            x = mels[:batch]
            view = ctranslate2.StorageView.from_array(x)
            rows = {
                "CTranslate2 int8, last layer": lambda view=view, ct2=ct2: ct2.encode(view),
                "PyTorch float32, all layers": lambda x=x: torch_encoder.hidden_states(x),
            }
            for name, fn in rows.items():
                ms = best_ms_per_clip(fn, batch, args.repeats)
                print(f"| {name} | {threads} | {batch} | {ms:.1f} |")


if __name__ == "__main__":
    main()
