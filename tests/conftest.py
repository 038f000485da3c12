import subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def prism_nb(*args, cwd=ROOT, timeout=600, env=None):
    "Run the `prism-nb` command of this environment and return the completed process."
    return subprocess.run([str(BIN/"prism-nb"), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)

@pytest.fixture
def peter_records():
    "Thirty PETER review records over 5 users and 7 items, with a 20/5/5 split."
    recs = [{"user": f"u{i%5}", "item": f"i{i%7}", "rating": 1 + i % 5, "predicted": "",
             "template": (f"feat{i%4}", "nice", f"the feat{i%4} is nice", 1)} for i in range(30)]
    return recs, {"train": list(range(20)), "validation": list(range(20, 25)), "test": list(range(25, 30))}
