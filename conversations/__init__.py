"""The pure conversation core: questionnaires, runs, and the engine that steps them.

No I/O, no clock, no platform, no database: every function here is a function of its
arguments, so it can be tested with tables of cases and replayed after a restart.
"""
