from launchlab.cli import run

run()
