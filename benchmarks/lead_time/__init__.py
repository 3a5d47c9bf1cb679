"""Fault injection on the reference trainer: how early the online checks alert."""
