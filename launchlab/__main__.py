import sys

from launchlab.cli import main

sys.exit(main())
