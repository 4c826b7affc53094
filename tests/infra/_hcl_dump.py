"""Print every .tf file under a directory as JSON: {relative path: parsed HCL}.

Runs in the checkov virtualenv, whose `hcl2` module (bc-python-hcl2) is the parser checkov
itself uses; the project's own venv does not carry it (see requirements-checkov.txt).
"""

import json
import sys
from pathlib import Path

import hcl2

root = Path(sys.argv[1])
out = {}
for path in sorted(root.rglob("*.tf")):
    if ".terraform" in path.parts:
        continue
    with path.open() as f:
        out[path.relative_to(root).as_posix()] = hcl2.load(f)
json.dump(out, sys.stdout, default=str)
