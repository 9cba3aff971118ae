"""proto/'s contract (vocabularies and bounds), read from `triage-contract`, so tests
never keep their own copy of the severities, categories, statuses, states or bounds."""

import functools
import json
import os
import subprocess

from .stack import BIN_DIR


@functools.lru_cache(maxsize=1)
def contract():
    """{"severities", "categories", "statuses", "states": [...], "bounds": {...}}."""
    out = subprocess.run([os.path.join(BIN_DIR, "triage-contract")], check=True,
                         stdout=subprocess.PIPE, text=True, timeout=30).stdout
    return json.loads(out)
