"""Core test configuration."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# stevedore caches entry points in a file keyed on path mtimes, which can miss a plugin
# installed a moment ago: point it at a fresh directory for every test session, and remove
# it when the session ends (one directory per run would otherwise pile up in /tmp).
_CACHE = tempfile.mkdtemp(prefix="invoicekit-stevedore-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
