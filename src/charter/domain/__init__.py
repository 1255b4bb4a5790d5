"""Pure privacy rules: standard library only, no I/O, time passed in."""
