"""The checkout's root directory, for tests that start processes or read source files."""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
