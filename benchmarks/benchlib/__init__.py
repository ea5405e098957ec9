"""The benchmark suite's library (see benchmarks/suite.py and benchmarks/README.md).

``proc``: starting and timing commands; ``runtimes``: finding the runtimes, crun's cgroup v1
mount namespace; ``bench``: the context every scenario gets (runtimes, bundles, cleanup);
``stats``: medians and paired ratios; ``scenarios``: one module per scenario; ``report``,
``targets``, ``plot``: the output.
"""
