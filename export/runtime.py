"""The deployed policy: an ONNX file run by onnxruntime, one observation at a time.

Used by the control loop on the robot, so it imports neither torch nor onnx: onnxruntime reads
the graph and its metadata. :meth:`OnnxPolicy.load` refuses a file that is not a ddpg-control
policy, with a one-line reason, before a motor can move.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import OBSERVATION_LAYOUT
from ddpg_control.runtime.errors import PolicyArtifactError, first_line
from export.metadata import INPUT_NAME, OUTPUT_NAME, PolicyMetadata

logger = logging.getLogger(__name__)

_EXPORT_HINT = "export one with 'ddpg-control export --onnx'"


def _session_options() -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A spinning worker burns a core between ticks and adds jitter to the loop's other work.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _check_port(what: str, ports: list[Any], name: str, width: int, source: str) -> None:
    """Exactly one float32 tensor called ``name`` with shape [batch, width]."""
    found = ", ".join(f"{p.name} {p.type} {p.shape}" for p in ports)
    if len(ports) != 1 or ports[0].name != name:
        raise PolicyArtifactError(
            f"{source} has {what} [{found}], expected one '{name}': not a ddpg-control policy; "
            f"{_EXPORT_HINT}"
        )
    port = ports[0]
    shape = list(port.shape)
    batch_ok = len(shape) == 2 and (isinstance(shape[0], str) or shape[0] is None)
    if port.type != "tensor(float)" or not batch_ok or shape[1] != width:
        raise PolicyArtifactError(
            f"{source} has {what} '{name}' of {port.type} {shape}, expected tensor(float) "
            f"[batch, {width}]; {_EXPORT_HINT}"
        )


class OnnxPolicy:
    """A loaded, validated ONNX policy: ``policy(obs) -> torque_nm``.

    The session is set up for the control loop: one thread, no spinning, sequential execution,
    and the input and output buffers are bound once and reused on every call (so one instance
    must not be called from two threads at once).
    """

    def __init__(self, session: Any, metadata: PolicyMetadata, path: Path) -> None:
        import onnxruntime as ort

        self._session = session
        self._metadata = metadata
        self._path = path
        self._input = np.zeros((1, metadata.obs_dim), dtype=np.float32)
        self._output = np.zeros((1, metadata.act_dim), dtype=np.float32)
        # The OrtValue shares self._input's memory: writing the array feeds the next run.
        self._input_value = ort.OrtValue.ortvalue_from_numpy(self._input)
        self._binding = session.io_binding()
        self._binding.bind_ortvalue_input(INPUT_NAME, self._input_value)
        self._binding.bind_output(
            OUTPUT_NAME,
            "cpu",
            0,
            np.float32,
            list(self._output.shape),
            self._output.ctypes.data,
        )

    @classmethod
    def load(cls, path: Path) -> OnnxPolicy:
        """Load and validate a policy file; raise PolicyArtifactError with the reason if not."""
        path = Path(path)
        source = f"policy '{path}'"
        if not path.is_file():
            raise PolicyArtifactError(
                f"{source} does not exist: {_EXPORT_HINT} (or pass the right file)"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PolicyArtifactError(f"{source} cannot be read: {exc.strerror}") from exc
        if not data:
            raise PolicyArtifactError(f"{source} is empty: {_EXPORT_HINT}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise PolicyArtifactError(
                "onnxruntime is not installed: pip install onnxruntime"
            ) from exc
        try:
            session = ort.InferenceSession(
                data, _session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise PolicyArtifactError(
                f"{source} is not a readable ONNX model (truncated or another file type?): "
                f"{first_line(exc)}; {_EXPORT_HINT}"
            ) from exc
        props = dict(session.get_modelmeta().custom_metadata_map)
        metadata = PolicyMetadata.from_props(props, source)
        _check_port("inputs", session.get_inputs(), INPUT_NAME, metadata.obs_dim, source)
        _check_port("outputs", session.get_outputs(), OUTPUT_NAME, metadata.act_dim, source)
        if metadata.act_dim != 1:
            raise PolicyArtifactError(
                f"{source} outputs {metadata.act_dim} actions; the control loop drives one joint"
            )
        logger.info(
            "loaded %s: %s, +-%s N*m, %s s period, run %s",
            path,
            metadata.env_id,
            metadata.max_torque_nm,
            metadata.control_period_s,
            metadata.run_name,
        )
        return cls(session, metadata, path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def metadata(self) -> PolicyMetadata:
        return self._metadata

    @property
    def max_torque_nm(self) -> float:
        return self._metadata.max_torque_nm

    @property
    def control_period_s(self) -> float:
        return self._metadata.control_period_s

    @property
    def obs_dim(self) -> int:
        return self._metadata.obs_dim

    @property
    def env_id(self) -> str:
        return self._metadata.env_id

    def check_plant(self, obs_dim: int, max_torque_nm: float | None = None) -> None:
        """Refuse (PolicyArtifactError) a plant this policy was not made for.

        The plant must build observations of the same size and layout, and (if given) report a
        valid torque limit. A limit below the policy's is allowed (the safety layer clips to the
        smallest of the policy's, the user's and the device's limits; a user may cap torque on
        purpose for a first test) but logged as a warning: the policy will saturate and the
        swing-up it learned may not work.
        """
        source = f"policy '{self._path}'"
        if self._metadata.observation_layout != OBSERVATION_LAYOUT:
            raise PolicyArtifactError(
                f"{source} expects observations '{self._metadata.observation_layout}' but this "
                f"ddpg-control builds '{OBSERVATION_LAYOUT}': re-export it with this version"
            )
        if obs_dim != self._metadata.obs_dim:
            raise PolicyArtifactError(
                f"{source} expects {self._metadata.obs_dim} observation values but the plant "
                f"gives {obs_dim}: use a policy trained for this plant"
            )
        if max_torque_nm is None:
            return
        if not (math.isfinite(max_torque_nm) and max_torque_nm > 0):
            raise PolicyArtifactError(
                f"the plant's torque limit must be a positive number, got {max_torque_nm}"
            )
        if max_torque_nm < self.max_torque_nm * (1.0 - 1e-6):
            logger.warning(
                "%s was trained for up to %g N*m but the plant allows %g N*m: torques will be "
                "clipped and the learned swing-up may fail",
                source,
                self.max_torque_nm,
                max_torque_nm,
            )

    def __call__(self, observation: npt.NDArray[np.float32]) -> float:
        """The torque (N*m) for one observation of shape (obs_dim,)."""
        if observation.shape != self._input.shape[1:]:
            raise PolicyArtifactError(
                f"observation has shape {observation.shape}, the policy expects "
                f"({self._metadata.obs_dim},)"
            )
        np.copyto(self._input[0], observation, casting="same_kind")
        self._session.run_with_iobinding(self._binding)
        torque_nm = float(self._output[0, 0])
        if not math.isfinite(torque_nm):
            self._raise_non_finite(observation)
        return torque_nm

    def act_batch(self, observations: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Torques [N, act_dim] for observations [N, obs_dim] (for evaluation, not the loop)."""
        if observations.ndim != 2 or observations.shape[1] != self._metadata.obs_dim:
            raise PolicyArtifactError(
                f"observations have shape {observations.shape}, the policy expects "
                f"[N, {self._metadata.obs_dim}]"
            )
        batch = np.ascontiguousarray(observations, dtype=np.float32)
        (actions,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        result = np.asarray(actions, dtype=np.float32)
        if not np.all(np.isfinite(result)):
            bad = int(np.argmax(~np.isfinite(result).all(axis=1)))
            self._raise_non_finite(observations[bad])
        return result

    def _raise_non_finite(self, observation: npt.NDArray[np.float32]) -> NoReturn:
        if not np.all(np.isfinite(observation)):
            raise PolicyArtifactError(
                f"observation {observation.tolist()} is not finite, so neither is the torque: "
                "check the plant's sensor readings"
            )
        raise PolicyArtifactError(
            f"{self._path} produced a non-finite torque for observation {observation.tolist()}: "
            "the artifact is broken; re-export it with 'ddpg-control export --onnx'"
        )
