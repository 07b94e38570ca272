"""The version of reprocal: one place, read by packaging (``pyproject.toml``) and by the code.

Kept as a literal so that ``reprocal --version`` costs no ``importlib.metadata`` lookup.
"""

__version__ = "0.2.0.dev0"
