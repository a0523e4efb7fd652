// Integration runs print warnings and errors only; set POWERTOOLS_LOG_LEVEL=INFO to see more.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
