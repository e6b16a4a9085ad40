"""Calibration: losses against the shipped data, module-by-module fits, and the report."""
