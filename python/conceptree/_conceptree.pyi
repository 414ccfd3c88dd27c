# Type stubs of conceptree's compiled module (docstrings: help(conceptree.train) etc.).
import os
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike]
Progress = Optional[Callable[[dict], None]]
__version__: str

class Error(ValueError): ...
class InputError(Error): ...
class Cancelled(RuntimeError): ...

class Frames:
    def __init__(self, data: npt.ArrayLike, offsets: npt.ArrayLike, track_ids: Sequence[str], layer: str = "",
                 frame_hop_seconds: float = 0.0) -> None: ...
    data: npt.NDArray[np.float32]
    offsets: npt.NDArray[np.uint64]
    track_ids: list[str]
    layer: str
    frame_hop_seconds: float
    def __len__(self) -> int: ...
    def track(self, index: int) -> npt.NDArray[np.float32]: ...

def read_store(path: PathLike, layer: str = "", progress: Progress = None) -> Frames: ...
def write_store(path: PathLike, frames: Frames, backbone: str = "imported", overwrite: bool = False) -> None: ...

class ConceptMetrics:
    n_tracks: int
    test_balanced_accuracy: float
    test_roc_auc: float
    regularization: float

class ConceptSet:
    layer: str
    dim: int
    names: list[str]
    types: list[str]
    kept: npt.NDArray[np.bool_]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    metrics: dict[str, np.ndarray]
    attributes: dict[str, Union[str, float]]
    def __len__(self) -> int: ...
    def save(self, path: PathLike, overwrite: bool = False) -> None: ...

def read_concept_set(path: PathLike, layer: str = "") -> ConceptSet: ...

class Similarity:
    measure: str
    layer: str
    names: list[str]
    types: list[str]
    values: npt.NDArray[np.float32]
    support: npt.NDArray[np.uint64]
    base_rate: npt.NDArray[np.float32]
    def __len__(self) -> int: ...
    def save(self, path: PathLike, overwrite: bool = False) -> None: ...

def read_similarity(path: PathLike) -> Similarity: ...

class HierarchyNode:
    id: str
    label: str
    type: str
    centrality: float
    depth: int

class HierarchyLink:
    parent: int
    child: int
    weight: float
    support: Optional[float]

class Hierarchy:
    nodes: list[HierarchyNode]
    links: list[HierarchyLink]
    alternatives: list[HierarchyLink]
    params: dict[str, Union[str, float]]
    def top_level(self) -> list[int]: ...
    def format(self, format: str = "json") -> str: ...
    def save(self, path: PathLike, format: str = "", overwrite: bool = False) -> None: ...
    def to_networkx(self) -> Any: ...
    def __len__(self) -> int: ...

def read_hierarchy(path: PathLike) -> Hierarchy: ...

class Evaluation:
    def to_json(self) -> str: ...
    def to_dict(self) -> dict: ...
    def table(self) -> str: ...

class ConceptSegment:
    concept_column: int
    start: float
    end: float
    score: float

class SummaryEntry:
    path: list[int]
    start: float
    end: float
    score: float

class Explanation:
    id: str
    names: list[str]
    labels: list[str]
    calibrated: bool
    frame_seconds: npt.NDArray[np.float64]
    activations: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    present: npt.NDArray[np.bool_]
    segments: list[ConceptSegment]
    summary: list[SummaryEntry]

class Embedder:
    def __init__(self, **options: Any) -> None: ...
    layers: list[tuple[str, int, float]]
    description: str
    def embed_waveform(self, waveform: npt.ArrayLike, sample_rate: float, id: str = "waveform") -> dict[str, npt.NDArray[np.float32]]: ...
    def embed_files(self, inputs: Sequence[str], jobs: int = 0, strict: bool = False, progress: Progress = None) -> dict[str, Frames]: ...

Memberships = Union[PathLike, Mapping[str, Union[Sequence[str], Mapping[str, Any]]]]

def train(frames: Frames, memberships: Memberships, *, progress: Progress = None, **options: Any) -> ConceptSet: ...
def similarity(concepts: ConceptSet, frames: Optional[Frames] = None, *, measure: str = "", jobs: int = 0, strict: bool = False,
               progress: Progress = None) -> Similarity: ...
def hierarchy(similarity: Similarity, *, jobs: int = 0, labels: Union[None, PathLike, Mapping[str, str]] = None,
              progress: Progress = None, **options: Any) -> Hierarchy: ...
def evaluate(hierarchy: Hierarchy, *, truth: Union[None, PathLike, Sequence[tuple[str, Optional[str]]]] = None,
             proxy: Union[None, PathLike, npt.ArrayLike] = None, proxy_ids: Union[None, PathLike, Sequence[str]] = None,
             similarity: Optional[Similarity] = None, **options: Any) -> Evaluation: ...
def explain(concepts: ConceptSet, frames: Union[Frames, npt.ArrayLike], *, frame_hop_seconds: float = 0.0,
            hierarchy: Optional[Hierarchy] = None, **options: Any) -> list[Explanation]: ...
def run(command: str, *, progress: Progress = None, **options: Any) -> None: ...
def command_help(command: str) -> str: ...
