[@'it''s', @"a\\b", 'single "quoted"']
