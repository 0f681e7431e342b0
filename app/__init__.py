"""linkup-emulator: a self-hosted emulator of LinkupAPI's v2 network recommendations."""

__version__ = "0.1.0"

# The pytest plugin checks this to tell this package from a user's own `app` package.
DISTRIBUTION = "linkup-emulator"
