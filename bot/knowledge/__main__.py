"""``python -m bot.knowledge``: refresh the phrasing vectors after editing the knowledge base."""

import sys

from bot.knowledge.vectors import main

sys.exit(main())
