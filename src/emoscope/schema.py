"""The shipped JSON Schema of ``emoscope.prediction/1``; validated reading and atomic writing.

The schema file (``emoscope/schemas/prediction-1.schema.json``) is generated from the pydantic
models in :mod:`emoscope.types` (``python -m emoscope.schema`` rewrites it) and a test keeps the
two in step. Documents are checked twice on write: against the schema (what other tools see) and
by the models' validators (ordering, closed label sets, times inside the recording).

Examples:
    >>> schema = load_schema()
    >>> schema["properties"]["schema"]["const"]
    'emoscope.prediction/1'
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import ValidationError

from emoscope.errors import SchemaError
from emoscope.types import SCHEMA_ID, PredictionDocument

SCHEMA_FILE = "prediction-1.schema.json"


def generate_schema() -> dict[str, Any]:
    """Return the JSON Schema generated from :class:`PredictionDocument`."""
    schema = PredictionDocument.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://emoscope.dev/schemas/prediction-1.schema.json"
    schema["title"] = SCHEMA_ID
    schema["properties"]["schema"] = {"const": SCHEMA_ID, "title": "Schema", "type": "string"}
    return schema


@cache
def load_schema() -> dict[str, Any]:
    """Return the JSON Schema that ships in the package."""
    text = files("emoscope").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate_document(data: dict[str, Any], *, source: str = "document") -> PredictionDocument:
    """Validate JSON data against the schema and the model rules.

    Args:
        data: The parsed JSON document.
        source: What to call it in error messages (a file name, say).

    Returns:
        The parsed document.

    Raises:
        SchemaError: With the first violation, its JSON path and the rule broken.
    """
    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaError(
            f"{source} does not follow {SCHEMA_ID}: at {path}: {error.message}. "
            f"See `emoscope schema` for the format."
        )
    try:
        return PredictionDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"]) or "(root)"
        raise SchemaError(
            f"{source} breaks a rule of {SCHEMA_ID}: at {where}: {first['msg']}."
        ) from None


def write_json_atomic(data: Any, path: Path) -> Path:
    """Write JSON to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_document(doc: PredictionDocument, path: Path) -> Path:
    """Validate ``doc`` and write it atomically as JSON.

    Raises:
        SchemaError: If the document does not follow the schema (nothing is written).
    """
    data = doc.to_json_dict()
    validate_document(data, source=f"document for {Path(path).name}")
    return write_json_atomic(data, Path(path))


def read_document(path: Path) -> PredictionDocument:
    """Read and validate a prediction document.

    Raises:
        SchemaError: If the file is not JSON or not a valid document.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(
            f"{path}: no such file. Give the JSON written by `emoscope analyze`."
        ) from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}).") from None
    return validate_document(data, source=str(path))


def main() -> None:  # pragma: no cover - maintenance entry point
    """Rewrite the shipped schema file from the models."""
    target = Path(__file__).parent / "schemas" / SCHEMA_FILE
    target.write_text(json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {target}\n")


if __name__ == "__main__":  # pragma: no cover
    main()
