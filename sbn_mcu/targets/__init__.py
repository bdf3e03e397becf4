"""Targets as data: the emulated cores and the boards. No numpy, no tools."""
