"""linkup-emulator: a self-hosted emulator of LinkupAPI's v2 network recommendations."""

__version__ = "0.1.0"
