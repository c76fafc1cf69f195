"""Reading the files a user points the toolkit at (--profile, --prices): whatever is in them,
one ``launchlab: ...`` line saying what is wrong, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document in ``path`` (``what`` it should be, for the message)."""
    import yaml  # here, not above: `launchlab --help` imports this module and never reads YAML

    # libyaml's safe loader where PyYAML has it: the price table loads in ~0.03 s, not 0.25.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except OSError as error:
        raise LaunchlabError(f"cannot read {what} {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise LaunchlabError(
            f"{path} is not text (UTF-8): byte 0x{error.object[error.start]:02x} at offset "
            f"{error.start}; {what} is a YAML file"
        ) from None
    except yaml.YAMLError as error:
        if "increasing flow level" in str(error):  # libyaml's depth limit
            raise LaunchlabError(f"{path} nests too deeply to be {what}") from None
        raise LaunchlabError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise LaunchlabError(f"{path} nests too deeply to be {what}") from None
