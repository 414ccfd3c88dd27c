from typing import Any, Sequence, Union

import numpy as np
import numpy.typing as npt

from ._conceptree import *  # noqa: F401,F403
from ._conceptree import Frames, PathLike, Progress

def embed(inputs: Union[PathLike, Sequence[PathLike]], *, jobs: int = 0, strict: bool = False, progress: Progress = None,
          **options: Any) -> Union[Frames, dict[str, Frames]]: ...
def embed_waveform(waveform: npt.ArrayLike, sample_rate: float, *, id: str = "waveform",
                   **options: Any) -> Union[npt.NDArray[np.float32], dict[str, npt.NDArray[np.float32]]]: ...
