"""The checkout's root directory, for tests that start processes or read source files.

(Not in conftest.py: several test folders have a conftest of their own, so
`from conftest import ...` would depend on import order.)"""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
