"""Starts the DRF session target: `target/pyenv/bin/python targets/drf_session/serve.py [--db PATH]`.

The same notes app, bug switch and launcher as targets/drf (whose serve.py this runs), with
session authentication and Django's CSRF protection instead of tokens: see targets/README.md.
"""

import importlib.util
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))

# targets/drf/serve.py, loaded under its own name (it puts targets/drf and targets/common on the
# path: the notes app, drftarget's settings that ours extend, the launcher contract).
_spec = importlib.util.spec_from_file_location("drf_serve", here.parent / "drf" / "serve.py")
drf_serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drf_serve)

if __name__ == "__main__":
    drf_serve.main("sessiontarget.settings", "drf-session")
