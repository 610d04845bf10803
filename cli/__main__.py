"""`python -m arqium.cli`: the `arqium` command."""

import sys

from arqium.cli.main import main

sys.exit(main())
