"""`make bench`: the speed and accuracy figures the project holds itself to, each with PASS/FAIL and the
command that reproduces it (`python -m bench --help`)."""
