import pytest


@pytest.fixture(autouse=True)
def _integrator_memory_per_test(settings, tmp_path):
    """seed_scale keeps the integrator's memory in a file per database; a test's database
    is emptied after it, so each test gets its own memory file, as it gets its own data."""
    settings.TAMKEEN_INTEGRATOR_STATE_FILE = str(tmp_path / "integrator-state.json")
