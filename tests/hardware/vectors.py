"""Reader of hardware/protocol_vectors.txt, the test vectors shared with the C core's tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "hardware" / "protocol_vectors.txt"


@dataclass
class Session:
    name: str
    config: dict[str, str] = field(default_factory=dict)
    #: ("at", (time_us, counts, velocity)) | ("send", bytes) | ("reply", bytes) | ("silence", None)
    steps: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class Vectors:
    crcs: list[tuple[int, bytes]] = field(default_factory=list)
    frames: list[tuple[int, int, bytes]] = field(default_factory=list)  # (type, seq, frame)
    sessions: list[Session] = field(default_factory=list)


def _hex(tokens: list[str]) -> bytes:
    return bytes(int(t, 16) for t in tokens)


def load(path: Path = VECTORS) -> Vectors:
    vectors = Vectors()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        kind, args = tokens[0], tokens[1:]
        session = vectors.sessions[-1] if vectors.sessions else None
        if kind == "crc":
            vectors.crcs.append((int(args[0], 16), _hex(args[1:])))
        elif kind == "frame":
            vectors.frames.append((int(args[0], 16), int(args[1]), _hex(args[2:])))
        elif kind == "session":
            vectors.sessions.append(Session(args[0]))
        elif session is not None and kind == "config":
            session.config = dict(arg.split("=", 1) for arg in args)
        elif session is not None and kind == "at":
            session.steps.append(("at", (int(args[0]), int(args[1]), float(args[2]))))
        elif session is not None and kind in ("send", "reply"):
            session.steps.append((kind, _hex(args)))
        elif session is not None and kind == "silence":
            session.steps.append(("silence", None))
        else:
            raise ValueError(f"{path.name}:{number}: cannot read {line!r}")
    return vectors
