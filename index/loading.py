"""The loaders moved to ``index.loaders`` (one module per format); this name stays for
scripts written against it, such as the devdocs ``check_answers.py --docqa``."""

from index.loaders import *  # noqa: F403
from index.loaders import __all__  # noqa: F401
