import sys

from cnnviz.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
