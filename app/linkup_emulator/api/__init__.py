"""HTTP routes: thin translations from requests to the emulator and the control plane."""
