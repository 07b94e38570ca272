"""reprocal's JSON Schemas. This directory is the one source of them; it ships inside the wheel
as the data-only package ``reprocal.schemas`` and is read with :mod:`importlib.resources`."""
