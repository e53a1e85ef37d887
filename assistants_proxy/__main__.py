import sys

from assistants_proxy.cli import main

sys.exit(main())
