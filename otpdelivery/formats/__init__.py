"""Our own date formats: 24-hour times everywhere, in each language's usual order."""
