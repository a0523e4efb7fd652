// Unit tests assert behaviour, not log lines: keep the structured logger quiet unless asked for.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
