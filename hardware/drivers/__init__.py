"""Drivers for vendors' motor controllers, each a ``Plant`` beside our own protocol's client."""
