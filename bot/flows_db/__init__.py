"""Flow versions in the database: versions and drafts (store), the switch of every process to a newly
published version (reload), round-trip YAML edits (yamledit) and spreadsheets for translators (sheets)."""
