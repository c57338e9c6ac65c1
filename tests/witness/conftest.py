"""The witness is a separate package without Django: its tests import it from its own
folder, the way it is installed on a witness's machine."""

import sys
from pathlib import Path

WITNESS_DIR = Path(__file__).parents[2] / "witness"

if str(WITNESS_DIR) not in sys.path:
    sys.path.insert(0, str(WITNESS_DIR))
