"""The session store: one SQLite lab file, its schema, writer, records, exports, reports."""
