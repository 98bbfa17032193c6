-- The config directory the state belongs to (store/owner.py): its name, which commands
-- compare, and its resolved path when it was recorded. As SQLite's m007_config_dir.
-- depends: 0001_state

ALTER TABLE meta ADD COLUMN config_dir_name ctext;
ALTER TABLE meta ADD COLUMN config_dir_path ctext;
