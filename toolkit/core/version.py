"""The toolkit's version, stamped into every model card, engine header and picture record."""

__version__ = "0.1.0"
