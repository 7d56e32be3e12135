CREATE TABLE IF NOT EXISTS items (id serial primary key, name text);
