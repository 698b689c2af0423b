"""agent-replay's benchmarks (``make bench`` = ``python -m benchmarks``).

Layout, one module per concern:

- ``synthetic``   synthetic agent runs with LLM-sized steps, recorded into cassettes
- ``report``      timing (``measure``, medians) and printing (tables, PASS/FAIL checks)
- ``core``        section "core": cassette load (cold, warm, bare YAML), replay overhead
                  per step, diff_histories
- ``vcrpy_peer``  section "vcrpy": plain vcrpy replaying the same calls as HTTP
- ``__main__``    the command line: runs the sections in order, prints the targets

A section is a function ``run(report, sizes, workdir)``; add one (say a golden-set
benchmark) as a module with such a function and an entry in ``__main__.SECTIONS``.
Figures other sections need go in ``report.figures``; targets go through
``report.check``. Nothing here is a test: timings are printed, never asserted in tests/.
"""
