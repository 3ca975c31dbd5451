"""`python -m flows.hls_lint FILE...`"""

import sys

from flows.hls_lint import main

sys.exit(main())
