"""What an import is asked to do: the file, the server, the mapping and the run's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from substore import remote
from substore.importer.source import Source

# Batches in flight: with 2 a server's stages (coercion, normalising, the upsert) left
# its cores a quarter idle; 4 gave 15% more rows/s (bench/import.py), 6 little more.
DEFAULT_CONCURRENCY = 4


@dataclass
class ImportJob:
    source: Source
    url: str
    token: str
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column, as given
    default_region: str | None = None
    strict_country_code: bool = False
    drop_invalid_fields: bool = False
    dry_run: bool = False
    batch_size: int = 1000
    concurrency: int = DEFAULT_CONCURRENCY
    rejects: Path | None = None
    warnings: Path | None = None
    resume: bool = False
    checkpoint: Path | None = None
    max_retries: int = 8
    backoff_seconds: float = 0.5

    @property
    def checkpoint_path(self) -> Path:
        path = self.source.path
        return self.checkpoint or path.with_name(path.name + ".checkpoint")

    def default_output(self, name: str) -> Path:
        """NAME.rejects.csv (or .warnings) beside the input, in the input's format."""
        path = self.source.path
        return path.with_name(f"{path.stem}.{name}{path.suffix}")

    @property
    def endpoint(self) -> str:
        return remote.endpoint(self.url)
