"""Related tables: one model per table, children generated under their parents."""
