"""The serial motor-driver protocol, client and emulator (being built: see the serial issue)."""
