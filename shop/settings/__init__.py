"""Settings modules: ``development`` (default), ``test`` and ``production``."""
