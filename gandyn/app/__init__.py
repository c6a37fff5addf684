"""The application shell: what turns the library's records into runs on a machine.

The library layers (engine, theory, games, metrics) compute; the experiments set up and
score runs and return their results; this layer runs them on a machine and keeps their
files, and knows nothing the lower layers need:

- :mod:`gandyn.app.folders`: the contracts of an output folder (written whole or visibly
  not: the ``INCOMPLETE`` marker and the manifest; the run record that lets a stopped run
  continue only with the same configuration);
- :mod:`gandyn.app.machine`: the machine's limits (the memory a run may use, BLAS threads);
- :mod:`gandyn.app.backends`: execution backends (shards of a population run in this
  process, on local processes or on a Dask cluster, kept as they finish);
- :mod:`gandyn.app.progress`: progress bars written as lines into a log;
- :mod:`gandyn.app.html` and :mod:`gandyn.app.report`: the HTML report of ``gandyn reproduce``.

The command line (:mod:`gandyn.cli`) sits above it; nothing below imports it.
"""
