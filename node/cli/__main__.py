import sys

from tacmesh.node.cli import main

sys.exit(main())
