"""Item bank: items, importers, blueprints, per-candidate paper assembly and sealed packages.

A library with no server dependency: nothing here imports aiohttp or SQLAlchemy.
"""
