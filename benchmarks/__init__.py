"""sokyaku's benchmarks: each path measured against its physical limit on the same machine, in one
run, printed as ratios (absolute times on shared machines are noise). Run ``make bench``
(``python -m benchmarks --help``); ``README.md`` explains each number.
"""
