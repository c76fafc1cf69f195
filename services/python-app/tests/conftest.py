import sys
from pathlib import Path

# launchlab_app is run from services/python-app (its image's WORKDIR), not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
