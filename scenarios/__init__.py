"""Real healthy and broken training runs of the tiny CPU demo, and the diagnosis each must get.

``python -m scenarios`` runs them (see scenarios/run.py); the definitions are in
scenarios/definitions.py.
"""
