"""Secrets entered once (API keys, hub tokens): an environment variable, else the OS keyring where the
`keyring` package works, else kept in memory for this run only. Never written to settings, files or logs."""
from __future__ import annotations

import os

from lab.common.errors import LabError

KEYRING_SERVICE = "emotion-lab"
_run_secrets: dict[str, str] = {}  # entered where no keyring works: this run only


def find_secret(name: str, env: str) -> str | None:
    """`env` from the environment, else the value kept for this run, else the keyring's entry `name`; None if none."""
    value = os.environ.get(env, "").strip() or _run_secrets.get(name, "")
    if value:
        return value
    try:
        import keyring

        return (keyring.get_password(KEYRING_SERVICE, name) or "").strip() or None
    except Exception:  # not installed, or no usable keyring backend on this system
        return None


def keyring_available() -> bool:
    """Whether an OS keyring can store secrets here (`keyring` installed, with a working backend)."""
    try:
        import keyring
        from keyring.backends import fail

        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception:  # not installed, or a broken backend
        return False


def remember_secret(name: str, value: str, what: str) -> bool:
    """Keep `value` under `name`: in the OS keyring when one works here (True), else for this run only (False)."""
    value = value.strip()
    if not value:
        raise LabError(f"The {what} is empty.")
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, name, value)
        return True
    except Exception:  # no keyring: keep it in memory until the program ends
        _run_secrets[name] = value
        return False
