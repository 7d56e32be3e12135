not rendered
