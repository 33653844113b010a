"""Gymnasium pendulum environments on PyBullet (being built: see the simulator issue)."""
