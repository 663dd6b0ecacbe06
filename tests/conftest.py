"""Core test configuration."""

from __future__ import annotations

import os
import tempfile

# stevedore caches entry points in a file keyed on path mtimes, which can miss a plugin
# installed a moment ago: point it at a fresh directory for every test session.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="invoicekit-stevedore-")
