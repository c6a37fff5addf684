"""``python -m gandyn`` runs the command-line interface."""
from gandyn.cli import main

raise SystemExit(main())
