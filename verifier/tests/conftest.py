"""The verifier's tests import the module from this package's directory (it is
``ledger/tamkeen_verify.py``, linked), as an installed copy would be imported."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
