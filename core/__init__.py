"""The core both ``knowledge`` and ``bot`` build on: domain errors and the one settings class."""
